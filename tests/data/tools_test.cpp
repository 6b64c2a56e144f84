// The three dataset tools as a user runs them: exit statuses, outputs, resumption.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "data/video_dataset.hpp"
#include "data/video_reader.hpp"
#include "test_videos.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

struct result {
  int status = -1;
  std::string output;
};

/// Runs a command line, capturing standard output and error together.
result run(const std::string& command, const temporary_folder& folder) {
  const auto log = folder.file("command.log");
  const int raw = std::system((command + " > " + log + " 2>&1").c_str());
  std::ifstream in(log);
  result r;
  r.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

const std::string make_dataset = MULTIGRID_MAKE_DATASET;
const std::string prepare_videos = MULTIGRID_PREPARE_VIDEOS;
const std::string check_dataset = MULTIGRID_CHECK_DATASET;

}  // namespace

TEST_CASE("multigrid-make-dataset writes all three formats and resumes") {
  temporary_folder folder;
  const auto root = folder.file("motion");
  const auto command = make_dataset + " " + root +
                       " --classes 3 --train-per-class 2 --val-per-class 1 --test-per-class 0"
                       " --seconds 1 --size 48x32 --preset ultrafast --jobs 2 --quiet";
  auto r = run(command, folder);
  CHECK(r.status == 0);
  CHECK(r.output.find("9 videos written, 0 kept") != std::string::npos);
  for (const char* file : {"train.csv", "val.csv", "train_list_videos.txt", "kinetics_train.csv",
                           "kinetics_val.csv", "classes.txt"}) {
    CHECK(std::filesystem::exists(root + "/" + file));
  }
  r = run(command, folder);
  CHECK(r.output.find("0 videos written, 9 kept") != std::string::npos);
  CHECK(run(make_dataset + " " + root + " --classes 99", folder).status == 2);
  CHECK(run(make_dataset + " " + root + " --size 48", folder).status == 2);
  CHECK(run(make_dataset, folder).status == 2);
}

TEST_CASE("multigrid-check-dataset summarises, lists broken files and sets its exit status") {
  temporary_folder folder;
  const auto root = folder.file("motion");
  write_small_dataset(root, 2, 2);
  auto r = run(check_dataset + " " + root + "/kinetics_train.csv --jobs 2", folder);
  CHECK(r.status == 0);
  CHECK(r.output.find("videos: 4 listed, 4 usable, 0 broken") != std::string::npos);
  CHECK(r.output.find("moving left: 2 usable") != std::string::npos);
  CHECK(r.output.find("sizes: 64x48: 4") != std::string::npos);

  // One missing and one garbage video.
  { std::ofstream(root + "/garbage.mp4") << "not a video at all"; }
  std::ifstream in(root + "/train.csv");
  std::string list((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  list += "garbage.mp4 0\nnowhere/missing.mp4 1\n";
  std::ofstream(root + "/broken.csv") << list;
  r = run(check_dataset + " " + root + "/broken.csv", folder);
  CHECK(r.status == 1);
  CHECK(r.output.find("videos: 6 listed, 4 usable, 2 broken") != std::string::npos);
  CHECK(r.output.find(root + "/garbage.mp4: not a readable video file") != std::string::npos);
  CHECK(r.output.find(root + "/nowhere/missing.mp4: file does not exist (" + root +
                      "/broken.csv:6)") != std::string::npos);

  std::ofstream(root + "/malformed.csv") << "a.mp4 1\nb.mp4 x\n";
  r = run(check_dataset + " " + root + "/malformed.csv", folder);
  CHECK(r.status == 2);
  CHECK(r.output.find("malformed.csv:2:") != std::string::npos);
}

TEST_CASE(
    "multigrid-prepare-videos scales, shortens the keyframe interval, resumes, skips broken") {
  temporary_folder folder;
  const auto source = folder.file("source");
  write_small_dataset(source, 2, 2);
  { std::ofstream(source + "/broken.mp4") << "garbage"; }
  const auto target = folder.file("prepared");
  const auto command = prepare_videos + " " + source + " " + target +
                       " --short-side 32 --keyframe-interval 4 --jobs 2 --preset ultrafast";
  auto r = run(command, folder);
  CHECK(r.status == 1);  // one broken source
  CHECK(r.output.find("4 prepared, 0 already there") != std::string::npos);
  CHECK(r.output.find("broken: " + source + "/broken.mp4: not a readable video file") !=
        std::string::npos);
  CHECK(std::filesystem::exists(target + "/train.csv"));
  CHECK_FALSE(std::filesystem::exists(target + "/broken.mp4"));

  // Same layout, smaller frames, and the result is what the loader reads.
  const auto dataset = video_dataset::load(target + "/train.csv", {});
  REQUIRE(dataset.size() == 4);
  for (const auto& sample : dataset.samples()) {
    video_reader reader(sample.path);
    CHECK(reader.info().display_size() == frame_size{42, 32});  // 64x48 -> 42.7 -> even 42
    CHECK(reader.info().frame_count == 30);
  }
  if (std::system("ffprobe -version > /dev/null 2>&1") == 0) {
    const auto probe =
        run("ffprobe -v error -select_streams v -skip_frame nokey -show_entries frame=pts "
            "-of csv=p=0 " +
                dataset[0].path + " | wc -l",
            folder);
    CHECK(std::stoi(probe.output) >= 30 / 4);
  }
  r = run(command, folder);
  CHECK(r.output.find("0 prepared, 4 already there") != std::string::npos);
  // --quiet: no line per video, the summary and the broken files still.
  const auto quiet_target = folder.file("prepared-quietly");
  r = run(prepare_videos + " " + source + " " + quiet_target +
              " --short-side 32 --jobs 2 --preset ultrafast --quiet",
          folder);
  CHECK(r.output.find("prepared " + quiet_target) == std::string::npos);
  CHECK(r.output.find("4 prepared, 0 already there") != std::string::npos);
  CHECK(r.output.find("broken: " + source + "/broken.mp4") != std::string::npos);
  // Without it, a line per video.
  CHECK(run(prepare_videos + " " + source + " " + folder.file("prepared-loudly") +
                " --short-side 32 --jobs 2 --preset ultrafast",
            folder)
            .output.find("prepared " + folder.file("prepared-loudly")) != std::string::npos);
  CHECK(run(prepare_videos + " " + source, folder).status == 2);
  CHECK(run(prepare_videos + " " + source + " " + target + " --short-side 0", folder).status == 2);
}

TEST_CASE("A job count the system cannot start ends the tools with an error, not an abort") {
  temporary_folder folder;
  const auto root = folder.file("motion");
  write_small_dataset(root, 2, 2);
  // More jobs than videos start one thread per video; a count that is not a number is refused.
  auto r = run(check_dataset + " " + root + "/train.csv --jobs 2000000000", folder);
  CHECK(r.status == 0);
  CHECK(r.output.find("videos: 4 listed, 4 usable, 0 broken") != std::string::npos);
  r = run(check_dataset + " " + root + "/train.csv --jobs 2x", folder);
  CHECK(r.status == 2);
  CHECK(r.output.find("--jobs: `2x` is not an integer") != std::string::npos);
  r = run(check_dataset + " " + root + "/train.csv --timeout soon", folder);
  CHECK(r.status == 2);
  CHECK(r.output.find("--timeout: `soon` is not a number") != std::string::npos);

#if !MULTIGRID_SANITIZED  // address space limits and a sanitizer's shadow memory do not mix
  // 3,000 thread stacks do not fit in 2 GB of address space: the system refuses a thread, the
  // started ones stop and the tool says so.
  std::ifstream in(root + "/train.csv");
  std::string first;
  std::getline(in, first);
  {
    std::ofstream many(root + "/many.csv");
    for (int i = 0; i < 3000; ++i) many << first << "\n";
  }
  const std::string limited = "ulimit -v 2000000; ";
  r = run(limited + check_dataset + " " + root + "/many.csv --jobs 3000", folder);
  CHECK(r.status == 1);
  CHECK(r.output.find("cannot start 3000 threads: the system refused thread") != std::string::npos);
  CHECK(r.output.find("terminate") == std::string::npos);
  r = run(limited + make_dataset + " " + folder.file("big") +
              " --classes 10 --train-per-class 300 --val-per-class 0 --test-per-class 0"
              " --seconds 0.2 --size 32x32 --preset ultrafast --quiet --jobs 3000",
          folder);
  CHECK(r.status == 1);
  CHECK(r.output.find("cannot start 3000 threads") != std::string::npos);
#endif
}
