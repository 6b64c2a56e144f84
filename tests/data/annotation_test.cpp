// Annotation readers on good and malformed files, in all three formats.

#include <doctest/doctest.h>

#include <fstream>

#include "data/annotation_format.hpp"
#include "data/data_config.hpp"
#include "data/dataset_error.hpp"
#include "data/label_map.hpp"
#include "data/video_dataset.hpp"
#include "test_videos.hpp"

using namespace multigrid::reference;
using multigrid::reference::testing::temporary_folder;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& error) {
    return error.what();
  }
  return {};
}

}  // namespace

TEST_CASE("PySlowFast lists: path and label, prefix, one-field and three-field lines") {
  temporary_folder folder;
  const auto file = folder.file("train.csv");
  write(file, "a/x.mp4 3\n/abs/y.mp4 1\n\nb/z.mp4\nc/w.mp4 id 2\r\n");
  annotation_options options;
  const auto dataset = video_dataset::load(file, options);
  REQUIRE(dataset.size() == 4);
  CHECK(dataset[0].path == (folder.path() / "a/x.mp4").string());
  CHECK(dataset[0].label == 3);
  CHECK(dataset[0].origin == file + ":1");
  CHECK(dataset[1].path == "/abs/y.mp4");  // absolute paths are kept
  CHECK(dataset[2].label == 0);            // a lone path is label 0, as in PySlowFast
  CHECK(dataset[2].origin == file + ":4");
  CHECK(dataset[3].label == 2);
  CHECK(dataset.num_classes() == 4);

  options.path_prefix = "/data/k400";
  CHECK(video_dataset::load(file, options)[0].path == "/data/k400/a/x.mp4");

  write(file, "a/x.mp4,3\nb/y.mp4,1\n");
  options.separator = ",";
  CHECK(video_dataset::load(file, options)[1].label == 1);
}

TEST_CASE("malformed lines are errors naming file and line, or skipped with a warning") {
  temporary_folder folder;
  const auto file = folder.file("train.csv");
  write(file, "a.mp4 1\nb.mp4 one\nc.mp4 2\nd.mp4 -3\ne.mp4 1 2 3\n");
  annotation_options options;
  const auto message = error_of([&] { video_dataset::load(file, options); });
  CHECK(message.find(file + ":2:") != std::string::npos);
  CHECK(message.find("b.mp4 one") != std::string::npos);

  std::vector<std::string> warnings;
  options.skip_malformed_lines = true;
  options.warn = [&](const std::string& text) { warnings.push_back(text); };
  const auto dataset = video_dataset::load(file, options);
  CHECK(dataset.size() == 2);
  REQUIRE(warnings.size() == 3);
  CHECK(warnings[0].find(file + ":2:") != std::string::npos);
  CHECK(warnings[1].find(file + ":4:") != std::string::npos);
  CHECK(warnings[2].find(file + ":5:") != std::string::npos);

  write(file, "\n\n");
  CHECK(error_of([&] { video_dataset::load(file, options); }).find("no videos") !=
        std::string::npos);
  CHECK(error_of([&] {
          video_dataset::load(folder.file("missing.csv"), options);
        }).find("missing.csv: cannot read") != std::string::npos);
}

TEST_CASE("mmaction2 lists split on any white space and need exactly two fields") {
  temporary_folder folder;
  const auto file = folder.file("train_list_videos.txt");
  write(file, "class_a/v1.mp4\t0\nclass_b/v2.mp4   1\n");
  annotation_options options;
  options.format = annotation_format::mmaction2;
  const auto dataset = video_dataset::load(file, options);
  REQUIRE(dataset.size() == 2);
  CHECK(dataset[1].path == (folder.path() / "class_b/v2.mp4").string());
  CHECK(dataset[1].label == 1);
  write(file, "class_a/v1.mp4 0 1\n");
  CHECK(error_of([&] { video_dataset::load(file, options); }).find(file + ":1:") !=
        std::string::npos);
}

TEST_CASE(
    "Kinetics CSV: alphabetical labels, downloader paths, quoted names, underscored folders") {
  temporary_folder folder;
  const auto file = folder.file("kinetics_train.csv");
  write(file,
        "label,youtube_id,time_start,time_end,split,is_cc\n"
        "\"passing American football (in game)\",abc123DEF45,14,24,train,0\n"
        "abseiling,--0edUL8zmA,0,10,train,0\n"
        "zumba,x_y,7,17,train,1\n");
  std::filesystem::create_directories(folder.path() / "passing_American_football_(in_game)");
  annotation_options options;
  const auto dataset = video_dataset::load(file, options);
  REQUIRE(dataset.size() == 3);
  CHECK(dataset.class_names() ==
        std::vector<std::string>{"abseiling", "passing American football (in game)", "zumba"});
  CHECK(dataset[0].label == 1);
  // The folder with underscores exists, so it is used; the others keep the name as written.
  CHECK(dataset[0].path ==
        (folder.path() / "passing_American_football_(in_game)/abc123DEF45_000014_000024.mp4")
            .string());
  CHECK(dataset[1].path == (folder.path() / "abseiling/--0edUL8zmA_000000_000010.mp4").string());
  CHECK(dataset[2].origin == file + ":4");

  // A label map fixes the order (and keeps splits consistent); unknown classes are errors.
  const auto map = folder.file("classes.txt");
  write(map, "zumba\nabseiling\npassing American football (in game)\n");
  options.label_map_file = map;
  CHECK(video_dataset::load(file, options)[2].label == 0);
  write(map, "zumba\nabseiling\n");
  CHECK(error_of([&] { video_dataset::load(file, options); }).find(":2: class `passing") !=
        std::string::npos);

  write(file, "youtube_id,time_start,time_end,split\nabc,1,11,test\n");
  options = {};
  CHECK(video_dataset::load(file, options)[0].path ==
        (folder.path() / "test/abc_000001_000011.mp4").string());

  write(file, "label,youtube_id,time_start,time_end,split\nabseiling,abc,ten,20,train\n");
  CHECK(error_of([&] { video_dataset::load(file, options); }).find(file + ":2:") !=
        std::string::npos);
  write(file, "label,video,start\n");
  options.format = annotation_format::kinetics;
  CHECK(error_of([&] { video_dataset::load(file, options); }).find("no `youtube_id` column") !=
        std::string::npos);
}

TEST_CASE("Kinetics CSV: a class name longer than a file name may be is listed, not a crash") {
  // Found with fuzz_annotation_parser: looking for the class's folder threw filesystem_error
  // ("File name too long"), which no caller expects from an annotation file.
  temporary_folder folder;
  const auto file = folder.file("kinetics_train.csv");
  const std::string label(300, 'x');
  write(file, "label,youtube_id,time_start,time_end\n" + label + " y,abc,1,2\n");
  const auto dataset = video_dataset::load(file, annotation_options{});
  REQUIRE(dataset.size() == 1);
  CHECK(dataset[0].path == (folder.path() / (label + " y") / "abc_000001_000002.mp4").string());
}

TEST_CASE("label maps reject empty and repeated names") {
  temporary_folder folder;
  const auto map = folder.file("labels.txt");
  write(map, "a\nb\n\nc\n");
  CHECK(error_of([&] { read_label_map(map); }).find(map + ":3: empty") != std::string::npos);
  write(map, "a\nb\na\n");
  CHECK(error_of([&] { read_label_map(map); }).find(map + ":3: class `a` is named twice") !=
        std::string::npos);
  write(map, "a\nb\n");
  CHECK(read_label_map(map) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("the dataset config reads PySlowFast's keys and names bad values") {
  auto tree = config_tree::load_string(
      "DATA:\n  PATH_TO_DATA_DIR: /d\n  NUM_FRAMES: 32\n  MEAN: [0.5]\n"
      "TEST:\n  NUM_SPATIAL_CROPS: 1\n",
      "test.yaml");
  const auto config = read_data_config(tree);
  CHECK(config.path_to_data_dir == "/d");
  CHECK(config.num_frames == 32);
  CHECK(config.sampling_rate == 8);
  CHECK(config.mean[2] == doctest::Approx(0.5));
  CHECK(config.std[0] == doctest::Approx(0.225));
  CHECK(config.test_crop_size == 256);
  CHECK(config.num_workers == 8);

  auto bad = config_tree::load_string("DATA:\n  STD: [0.2, 0.0, 0.2]\n", "bad.yaml");
  const auto message = error_of([&] { read_data_config(bad); });
  CHECK(message.find("DATA.STD") != std::string::npos);
  CHECK(message.find("bad.yaml:2") != std::string::npos);
  bad = config_tree::load_string("DATA:\n  ANNOTATION_FORMAT: csv\n", "bad.yaml");
  CHECK(error_of([&] { read_data_config(bad); }).find("DATA.ANNOTATION_FORMAT") !=
        std::string::npos);
}

TEST_CASE("split files are found by format") {
  temporary_folder folder;
  write(folder.file("kinetics_val.csv"), "label,youtube_id,time_start,time_end,split\n");
  CHECK(annotation_file_for_split(folder.path().string(), "val", annotation_format::automatic) ==
        folder.file("kinetics_val.csv"));
  write(folder.file("val.csv"), "a.mp4 0\n");
  CHECK(annotation_file_for_split(folder.path().string(), "val", annotation_format::automatic) ==
        folder.file("val.csv"));
  CHECK(annotation_file_for_split(folder.path().string(), "val", annotation_format::mmaction2) ==
        folder.file("val_list_videos.txt"));
  CHECK(detect_annotation_format("label,youtube_id,time_start,time_end,split") ==
        annotation_format::kinetics);
}
