#pragma once
// What every command-line tool shares: reading the PySlowFast-style config with its trailing
// KEY VALUE overrides, and the exit codes (0 success, 1 failure at run time, 2 bad usage or
// config).

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "config/config_tree.hpp"

namespace multigrid::reference {

constexpr int exit_runtime_error = 1;
constexpr int exit_usage_error = 2;

/// Thrown for bad command-line usage; tools print it with their usage and exit 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The value that follows option argv[i], moving i past it; a usage_error naming the option when
/// the command line ends there.
inline std::string option_value(int argc, char** argv, int& i) {
  if (i + 1 >= argc) throw usage_error(std::string(argv[i]) + " needs a value");
  return argv[++i];
}

/// The default of every tool's --jobs: one per core.
inline int all_cores() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// An option's integer value; a usage_error naming the option otherwise.
inline int option_int(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < INT_MIN || value > INT_MAX) {
    throw usage_error(option + ": `" + text + "` is not an integer");
  }
  return static_cast<int>(value);
}

/// An option's numeric value; a usage_error naming the option otherwise.
inline double option_double(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') throw usage_error(option + ": `" + text + "` is not a number");
  return value;
}

/// A usage_error naming `option` unless the folder that is to hold `path` exists: checked before
/// a tool prints or computes anything.
inline void check_writable_folder_of(const std::string& path, const std::string& option) {
  auto folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) {
    throw usage_error(option + " " + path + ": no folder " + folder.string());
  }
}

/// A tool's CONFIG and its KEY VALUE overrides: CONFIG is the first positional argument, or is
/// given with PySlowFast's `--cfg FILE`, and then every positional argument is an override.
class config_arguments {
 public:
  /// Takes `--cfg FILE` or a positional argument; false for any other option.
  bool take(const std::string& arg, int argc, char** argv, int& i) {
    if (arg == "--cfg") {
      if (!cfg_.empty()) throw usage_error("--cfg given twice");
      cfg_ = option_value(argc, argv, i);
      return true;
    }
    if (arg.rfind("--", 0) == 0) return false;
    positional_.push_back(arg);
    return true;
  }
  bool cfg_given() const { return !cfg_.empty(); }
  /// Empty when there is neither --cfg nor a positional argument.
  std::string config() const {
    if (cfg_given()) return cfg_;
    return positional_.empty() ? std::string() : positional_.front();
  }
  std::vector<std::string> overrides() const {
    if (cfg_given() || positional_.empty()) return positional_;
    return {positional_.begin() + 1, positional_.end()};
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::string cfg_;
  std::vector<std::string> positional_;
};

/// Loads CONFIG (or an empty config when `path` is empty), applies the overrides and checks that
/// every key is known (config_tree::check_known_keys).
inline config_tree load_config(const std::string& path, const std::vector<std::string>& overrides) {
  auto tree =
      path.empty() ? config_tree::load_string("", "defaults") : config_tree::load_file(path);
  tree.apply_overrides(overrides);
  tree.check_known_keys();
  return tree;
}

/// Warns about overrides of known keys the tool does not read.
inline void warn_unread_overrides(const config_tree& tree, const char* tool) {
  for (const auto& key : tree.unread_overrides()) {
    std::fprintf(stderr, "%s: warning: %s was overridden but is not used by this tool\n", tool,
                 key.c_str());
  }
}

/// Runs a tool's body and maps exceptions to messages and exit codes.
inline int run_tool(const char* tool, const char* usage, const std::function<int()>& body) {
  try {
    return body();
  } catch (const usage_error& error) {
    std::fprintf(stderr, "%s: %s\n%s", tool, error.what(), usage);
    return exit_usage_error;
  } catch (const config_error& error) {
    std::fprintf(stderr, "%s: %s\n", tool, error.what());
    return exit_usage_error;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: error: %s\n", tool, error.what());
    return exit_runtime_error;
  }
}

}  // namespace multigrid::reference
