// multigrid-make-dataset: writes a synthetic video dataset whose classes differ only by motion, in
// the Kinetics layout with annotation files in the PySlowFast, mmaction2 and Kinetics formats.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "data/synthetic_dataset.hpp"
#include "data/video_reader.hpp"
#include "tools/cli_support.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace {

using namespace multigrid::reference;

constexpr const char* usage =
    "usage: multigrid-make-dataset OUT_DIR [options]\n"
    "  --classes N             the first N motion classes, at most 17 (default 10)\n"
    "  --class-list A,B,...    these motion classes instead, by name (e.g. \"moving right,\n"
    "                          moving left,standing still\"; --help-classes lists them)\n"
    "  --objects N[-M]         shapes per video (default 5-8)\n"
    "  --object-size A-B       shape half extent, a fraction of the short side (default\n"
    "                          0.15-0.3)\n"
    "  --background KIND       gradient (default) or flat\n"
    "  --noise L               per-pixel noise of up to L grey levels, new in every frame\n"
    "                          (default 0)\n"
    "  --colours KIND          per-video (default): colours drawn per video; shared: every\n"
    "                          video has the same colours, so only motion tells videos apart\n"
    "  --train-per-class N     training videos per class (default 20)\n"
    "  --val-per-class N       validation videos per class (default 4)\n"
    "  --test-per-class N      test videos per class (default 4)\n"
    "  --size WxH              frame size (default 64x48)\n"
    "  --fps F                 frame rate (default 30)\n"
    "  --seconds S             duration (default 2)\n"
    "  --codec NAME            auto (libx264, else mpeg4), or an encoder: libx264, mpeg4,\n"
    "                          libx265, libvpx-vp9 (default auto)\n"
    "  --keyframe-interval N   frames between keyframes; 0 keeps the encoder's (x264: 250)\n"
    "  --preset NAME           x264 preset (default: x264's, medium)\n"
    "  --quality Q             x264 CRF or mpeg4 qscale (default: the encoder's)\n"
    "  --rotation DEG          write display-rotation metadata (0, 90, 180, 270)\n"
    "  --content KIND          motion (default) or frame-code (test pattern naming each frame)\n"
    "  --faststart             put the MP4 index first\n"
    "  --seed N                (default 0)\n"
    "  --jobs N                videos encoded in parallel (default: all cores)\n"
    "  --quiet                 no line per video\n"
    "Videos that already exist are kept: an interrupted run resumes.\n";

/// "A-B" or "A" as a range; A alone is the range [A, A].
template <class Parse>
auto option_range(const std::string& name, const std::string& text, Parse parse) {
  const auto dash = text.find('-', 1);
  if (dash == std::string::npos) {
    const auto value = parse(name, text);
    return std::make_pair(value, value);
  }
  return std::make_pair(parse(name, text.substr(0, dash)), parse(name, text.substr(dash + 1)));
}

std::vector<std::string> comma_separated(const std::string& text) {
  std::vector<std::string> items;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const auto end = std::min(text.find(',', begin), text.size());
    items.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return items;
}

int run(int argc, char** argv) {
  synthetic_dataset_options options;
  options.jobs = all_cores();
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] { return option_value(argc, argv, i); };
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--help-classes") {
      for (const auto& motion : motion_classes()) std::printf("%s\n", motion.name.c_str());
      return 0;
    } else if (arg == "--classes") {
      options.classes = option_int(arg, value());
    } else if (arg == "--class-list") {
      options.class_list = comma_separated(value());
    } else if (arg == "--objects") {
      std::tie(options.style.min_objects, options.style.max_objects) =
          option_range(arg, value(), option_int);
    } else if (arg == "--object-size") {
      std::tie(options.style.min_object_size, options.style.max_object_size) =
          option_range(arg, value(), option_double);
    } else if (arg == "--background") {
      const auto kind = value();
      if (kind != "gradient" && kind != "flat") {
        throw usage_error("--background: `" + kind + "` is neither gradient nor flat");
      }
      options.style.flat_background = kind == "flat";
    } else if (arg == "--noise") {
      options.style.noise = option_double(arg, value());
    } else if (arg == "--colours") {
      const auto kind = value();
      if (kind != "per-video" && kind != "shared") {
        throw usage_error("--colours: `" + kind + "` is neither per-video nor shared");
      }
      options.style.shared_colours = kind == "shared";
    } else if (arg == "--train-per-class") {
      options.train_per_class = option_int(arg, value());
    } else if (arg == "--val-per-class") {
      options.val_per_class = option_int(arg, value());
    } else if (arg == "--test-per-class") {
      options.test_per_class = option_int(arg, value());
    } else if (arg == "--size") {
      const auto text = value();
      const auto x = text.find('x');
      if (x == std::string::npos) throw usage_error("--size: expected WxH, found `" + text + "`");
      options.width = option_int(arg, text.substr(0, x));
      options.height = option_int(arg, text.substr(x + 1));
    } else if (arg == "--fps") {
      options.fps = option_double(arg, value());
    } else if (arg == "--seconds") {
      options.seconds = option_double(arg, value());
    } else if (arg == "--codec") {
      options.codec = value();
    } else if (arg == "--keyframe-interval") {
      options.keyframe_interval = option_int(arg, value());
    } else if (arg == "--preset") {
      options.preset = value();
    } else if (arg == "--quality") {
      options.quality = option_int(arg, value());
    } else if (arg == "--rotation") {
      options.rotation = option_int(arg, value());
    } else if (arg == "--content") {
      const auto kind = value();
      if (kind == "motion") {
        options.content = scene_content::motion;
      } else if (kind == "frame-code") {
        options.content = scene_content::frame_code;
      } else {
        throw usage_error("--content: `" + kind + "` is neither motion nor frame-code");
      }
    } else if (arg == "--faststart") {
      options.faststart = true;
    } else if (arg == "--seed") {
      options.seed = static_cast<std::uint64_t>(std::strtoull(value().c_str(), nullptr, 10));
    } else if (arg == "--jobs") {
      options.jobs = option_int(arg, value());
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (arg.rfind("--", 0) == 0) {
      throw usage_error("unknown option " + arg);
    } else if (options.root.empty()) {
      options.root = arg;
    } else {
      throw usage_error("unexpected argument " + arg);
    }
  }
  if (options.root.empty()) throw usage_error("missing OUT_DIR");
  try {
    check_synthetic_dataset_options(options);
  } catch (const std::invalid_argument& error) {
    throw usage_error(error.what());
  }
  set_ffmpeg_log_level(AV_LOG_ERROR);
  if (!quiet) {
    options.progress = [](const std::string& path) { std::printf("wrote %s\n", path.c_str()); };
  }
  const auto summary = make_synthetic_dataset(options);
  std::printf(
      "multigrid-make-dataset: %lld videos written, %lld kept, codec %s, %zu classes in %s\n",
      static_cast<long long>(summary.written), static_cast<long long>(summary.kept),
      summary.codec.c_str(), summary.class_names.size(), options.root.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("multigrid-make-dataset", usage, [&] { return run(argc, argv); });
}
