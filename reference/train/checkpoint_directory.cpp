#include "train/checkpoint_directory.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <regex>
#include <tuple>

namespace multigrid::reference {
namespace {

namespace fs = std::filesystem;

const std::regex checkpoint_name(R"(checkpoint_epoch_(\d+)(?:_iter_(\d+))?\.ckpt)");
const std::regex temporary_name(R"(checkpoint_epoch_.*\.ckpt\.tmp\.(\d+))");

/// Whether the process that names a temporary still runs here (this one included), so that its
/// write may be in progress. A recycled PID keeps a stale file until a later start: harmless.
bool writer_alive(const std::string& pid_text) {
  const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

bool newer(const checkpoint_entry& a, const checkpoint_entry& b) {
  return std::tie(a.epoch, a.iteration_in_epoch) > std::tie(b.epoch, b.iteration_in_epoch);
}

}  // namespace

checkpoint_directory::checkpoint_directory(std::string folder) : folder_(std::move(folder)) {}

std::string checkpoint_directory::path_for(const training_position& position) const {
  char name[96];
  if (position.at_epoch_boundary()) {
    std::snprintf(name, sizeof name, "checkpoint_epoch_%05d.ckpt", position.epoch);
  } else {
    std::snprintf(name, sizeof name, "checkpoint_epoch_%05d_iter_%06lld.ckpt", position.epoch,
                  static_cast<long long>(position.iteration_in_epoch));
  }
  return (fs::path(folder_) / name).string();
}

std::vector<checkpoint_entry> checkpoint_directory::list() const {
  std::vector<checkpoint_entry> entries;
  std::error_code error;
  if (!fs::is_directory(folder_, error)) return entries;
  for (const auto& item : fs::directory_iterator(folder_, error)) {
    const auto name = item.path().filename().string();
    std::smatch match;
    if (!item.is_regular_file(error) || !std::regex_match(name, match, checkpoint_name)) continue;
    checkpoint_entry entry;
    entry.path = item.path().string();
    entry.epoch = std::stoi(match[1].str());
    entry.iteration_in_epoch = match[2].matched ? std::stoll(match[2].str()) : 0;
    entries.push_back(entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const checkpoint_entry& a, const checkpoint_entry& b) { return newer(b, a); });
  return entries;
}

std::optional<std::string> checkpoint_directory::latest(std::vector<std::string>* skipped) const {
  auto entries = list();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    try {
      verify_checkpoint_file(it->path);
      return it->path;
    } catch (const legacy_checkpoint_error&) {
      throw;  // falling back to an older file, or to none, would silently lose the run's progress
    } catch (const checkpoint_error& error) {
      if (skipped) skipped->push_back(error.what());
    }
  }
  return std::nullopt;
}

std::string checkpoint_directory::save(const checkpoint_state& state, const checkpoint_parts& parts,
                                       int keep_last, int keep_period) {
  std::error_code error;
  fs::create_directories(folder_, error);
  if (error) throw checkpoint_error(folder_ + ": cannot create the folder: " + error.message());
  const auto path = path_for(state.position);
  write_checkpoint(path, state, parts);
  prune(keep_last, keep_period);
  return path;
}

void checkpoint_directory::prune(int keep_last, int keep_period) const {
  const auto entries = list();
  const auto keep_from = entries.size() > static_cast<std::size_t>(std::max(keep_last, 1))
                             ? entries.size() - static_cast<std::size_t>(std::max(keep_last, 1))
                             : 0;
  for (std::size_t i = 0; i < keep_from; ++i) {
    const auto& entry = entries[i];
    const bool periodic =
        entry.iteration_in_epoch == 0 && keep_period > 0 && entry.epoch % keep_period == 0;
    if (!periodic) {
      std::error_code error;
      fs::remove(entry.path, error);
    }
  }
}

std::vector<std::string> checkpoint_directory::remove_stale_temporaries() const {
  std::vector<std::string> removed;
  std::error_code error;
  if (!fs::is_directory(folder_, error)) return removed;
  for (const auto& item : fs::directory_iterator(folder_, error)) {
    const auto name = item.path().filename().string();
    std::smatch match;
    if (!std::regex_match(name, match, temporary_name) || writer_alive(match[1].str())) continue;
    std::error_code ignored;
    if (fs::remove(item.path(), ignored)) removed.push_back(item.path().string());
  }
  return removed;
}

}  // namespace multigrid::reference
