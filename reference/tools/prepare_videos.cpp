// multigrid-prepare-videos: re-encodes a dataset tree for fast random clip decoding (short side,
// short keyframe interval), in parallel, resumable, keeping the layout.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "data/video_preparation.hpp"
#include "tools/cli_support.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace {

using namespace multigrid::reference;

constexpr const char* usage =
    "usage: multigrid-prepare-videos SRC DST [options]\n"
    "  --short-side N          scale every video's short side to N pixels (default 256)\n"
    "  --keyframe-interval N   at most N frames between keyframes (default 16)\n"
    "  --jobs N                videos re-encoded in parallel (default: all cores)\n"
    "  --quiet                 no line per video; the summary and broken files only\n"
    "  --codec NAME            auto (libx264, else mpeg4) or an encoder name (default auto)\n"
    "  --preset NAME           x264 preset (default: x264's, medium)\n"
    "  --tune NAME             x264 tune (default fastdecode: twice as fast to decode, files\n"
    "                          about 15% larger); none keeps x264's defaults\n"
    "  --quality Q             x264 CRF or mpeg4 qscale (default: the encoder's)\n"
    "  --x264-params K=V:...   further x264 settings (default b-pyramid=none: B-frames are never\n"
    "                          references, so clips skip the ones they do not sample)\n"
    "Keeps the folder layout and copies other files (annotations). Videos already in DST are\n"
    "skipped, so an interrupted run resumes. Broken sources are reported and skipped; the exit\n"
    "status is then 1.\n";

int run(int argc, char** argv) {
  preparation_options options;
  options.jobs = all_cores();
  std::string source, target;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] { return option_value(argc, argv, i); };
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--short-side") {
      options.short_side = option_int(arg, value());
    } else if (arg == "--keyframe-interval") {
      options.keyframe_interval = option_int(arg, value());
    } else if (arg == "--jobs") {
      options.jobs = option_int(arg, value());
    } else if (arg == "--codec") {
      options.codec = value();
    } else if (arg == "--preset") {
      options.preset = value();
    } else if (arg == "--tune") {
      options.tune = value();
    } else if (arg == "--x264-params") {
      options.x264_params = value();
    } else if (arg == "--quality") {
      options.quality = option_int(arg, value());
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (arg.rfind("--", 0) == 0) {
      throw usage_error("unknown option " + arg);
    } else if (source.empty()) {
      source = arg;
    } else if (target.empty()) {
      target = arg;
    } else {
      throw usage_error("unexpected argument " + arg);
    }
  }
  if (source.empty() || target.empty()) throw usage_error("missing SRC or DST");
  set_ffmpeg_log_level(AV_LOG_FATAL);
  if (!quiet) options.progress = [](const std::string& line) { std::printf("%s\n", line.c_str()); };
  preparation_report report;
  try {
    report = prepare_videos(source, target, options);
  } catch (const std::invalid_argument& error) {
    throw usage_error(error.what());
  }
  for (const auto& [from, to] : report.renamed) {
    std::printf("note: %s was written as %s (its container cannot hold the codec)\n", from.c_str(),
                to.c_str());
  }
  std::printf(
      "multigrid-prepare-videos: %lld prepared, %lld already there, %lld other files "
      "copied, %zu broken\n",
      static_cast<long long>(report.converted), static_cast<long long>(report.skipped),
      static_cast<long long>(report.copied), report.failures.size());
  for (const auto& [path, reason] : report.failures) {
    std::fprintf(stderr, "broken: %s: %s\n", path.c_str(), reason.c_str());
  }
  return report.failures.empty() ? 0 : exit_runtime_error;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("multigrid-prepare-videos", usage, [&] { return run(argc, argv); });
}
