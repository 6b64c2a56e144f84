// multigrid-check-dataset: decodes every video of an annotation file once, through the loader's
// own code, and prints a summary and every broken file. Exit status 0 when all are usable, 1 when
// some are not, 2 for bad usage or a malformed annotation file.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "data/dataset_check.hpp"
#include "data/dataset_error.hpp"
#include "tools/cli_support.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace {

using namespace multigrid::reference;

constexpr const char* usage =
    "usage: multigrid-check-dataset ANNOTATION_FILE [options]\n"
    "  --root DIR              folder the annotation's paths are relative to (DATA.PATH_PREFIX;\n"
    "                          default: the annotation file's folder)\n"
    "  --format NAME           auto, pyslowfast, mmaction2 or kinetics (default auto)\n"
    "  --separator TEXT        between path and label, pyslowfast format (default: a space)\n"
    "  --label-map FILE        class names, one per line in label order\n"
    "  --skip-malformed-lines  warn about malformed annotation lines instead of failing\n"
    "  --jobs N                videos checked in parallel (default: all cores)\n"
    "  --timeout S             seconds allowed per video (default 60)\n"
    "  --verbose               a line per video as it is checked\n";

int run(int argc, char** argv) {
  std::string annotation_file;
  annotation_options annotations;
  dataset_check_options options;
  options.jobs = all_cores();
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] { return option_value(argc, argv, i); };
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--root") {
      annotations.path_prefix = value();
    } else if (arg == "--format") {
      const auto name = value();
      const auto format = parse_annotation_format(name);
      if (!format)
        throw usage_error("--format: `" + name +
                          "` is not auto, pyslowfast, mmaction2 or kinetics");
      annotations.format = *format;
    } else if (arg == "--separator") {
      annotations.separator = value();
    } else if (arg == "--label-map") {
      annotations.label_map_file = value();
    } else if (arg == "--skip-malformed-lines") {
      annotations.skip_malformed_lines = true;
    } else if (arg == "--jobs") {
      options.jobs = option_int(arg, value());
      if (options.jobs < 1) throw usage_error("--jobs must be a positive integer");
    } else if (arg == "--timeout") {
      options.reader.timeout_seconds = option_double(arg, value());
      if (!(options.reader.timeout_seconds > 0)) throw usage_error("--timeout must be positive");
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg.rfind("--", 0) == 0) {
      throw usage_error("unknown option " + arg);
    } else if (annotation_file.empty()) {
      annotation_file = arg;
    } else {
      throw usage_error("unexpected argument " + arg);
    }
  }
  if (annotation_file.empty()) throw usage_error("missing ANNOTATION_FILE");
  set_ffmpeg_log_level(AV_LOG_FATAL);

  video_dataset dataset;
  try {
    dataset = video_dataset::load(annotation_file, annotations);
  } catch (const dataset_error& error) {
    std::fprintf(stderr, "multigrid-check-dataset: %s\n", error.what());
    return exit_usage_error;
  }
  if (verbose) {
    options.progress = [&](const video_check& check) {
      std::printf("%s %s%s%s\n", check.usable ? "ok    " : "BROKEN",
                  dataset[check.index].path.c_str(), check.usable ? "" : ": ",
                  check.reason.c_str());
    };
  }
  const auto report = check_dataset(dataset, options);
  std::fputs(report.summary(dataset).c_str(), stdout);
  return report.broken() == 0 ? 0 : exit_runtime_error;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("multigrid-check-dataset", usage, [&] { return run(argc, argv); });
}
