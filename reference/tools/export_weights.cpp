// multigrid-export-weights: a checkpoint's model as PySlowFast weights (`.pyth`, which
// `torch.load` reads and PySlowFast's load_state_dict accepts) or as `.safetensors` (PySlowFast's
// names, BN counters included); and the conversion of a checkpoint of the earlier format.

#include <cstdio>
#include <sstream>
#include <string>

#include "tools/cli_support.hpp"
#include "train/checkpoint.hpp"
#include "train/legacy_checkpoint.hpp"
#include "train/pyslowfast_weights.hpp"

namespace {

using namespace multigrid::reference;

constexpr const char* usage =
    "usage: multigrid-export-weights CHECKPOINT OUT.pyth|OUT.safetensors\n"
    "       multigrid-export-weights --from-legacy OLD.ckpt NEW.ckpt\n"
    "  OUT.pyth          torch.save of {'model_state': ..., 'epoch': ...}, PySlowFast's layout\n"
    "  OUT.safetensors   the same tensors in a safetensors file\n"
    "  --from-legacy     rewrites a checkpoint of the earlier format (a LibTorch archive) in the\n"
    "                    current one, everything kept. It runs LibTorch's reader, which a crafted\n"
    "                    file can crash: convert only files you trust.\n";

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run(int argc, char** argv) {
  std::vector<std::string> positional;
  bool from_legacy = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--from-legacy") {
      from_legacy = true;
    } else if (!arg.empty() && arg[0] == '-') {
      throw usage_error("unknown option " + arg);
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) throw usage_error("expected CHECKPOINT and OUT");
  const auto& input = positional[0];
  const auto& output = positional[1];
  try {
    if (from_legacy) {
      convert_legacy_checkpoint(input, output);
      std::printf("%s: converted to %s\n", input.c_str(), output.c_str());
      return 0;
    }
    const opened_checkpoint checkpoint(input);
    const auto state = to_pyslowfast_names(checkpoint.model_state());
    const int epoch = checkpoint.state().position.epoch;
    if (ends_with(output, ".pyth")) {
      write_pyslowfast_weights(output, state, epoch);
    } else if (ends_with(output, ".safetensors")) {
      named_tensors tensors(state.begin(), state.end());
      write_checkpoint_file(
          output,
          {{"format", "multigrid-weights"}, {"epoch", std::to_string(epoch)}, {"source", input}},
          tensors);
    } else {
      throw usage_error(output + ": OUT must end in .pyth or .safetensors");
    }
    std::printf("%s: the model of %s (epoch %d)\n", output.c_str(), input.c_str(), epoch);
  } catch (const checkpoint_error& error) {
    throw config_error(error.what());  // a bad input file: exit status 2
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("multigrid-export-weights", usage, [&] { return run(argc, argv); });
}
