#include "train/metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "report/atomic_file.hpp"

namespace multigrid::reference {
namespace {

// JSON has no NaN or infinity: write null and read it back as NaN.
nlohmann::ordered_json number(double value) {
  if (!std::isfinite(value)) return nullptr;
  return value;
}

double read_number(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nan("");
  return it->get<double>();
}

nlohmann::ordered_json shape_json(const batch_shape& shape) {
  return {{"per_process_batch", shape.per_process_batch},
          {"global_batch", shape.global_batch},
          {"frames", shape.frames},
          {"crop", shape.crop}};
}

batch_shape read_shape(const nlohmann::json& object) {
  batch_shape shape;
  const auto& json = object.at("shape");
  shape.per_process_batch = json.at("per_process_batch").get<int>();
  shape.global_batch = json.at("global_batch").get<int>();
  shape.frames = json.at("frames").get<int>();
  shape.crop = json.at("crop").get<int>();
  return shape;
}

iteration_metrics read_iteration(const nlohmann::json& json) {
  iteration_metrics record;
  record.epoch = json.at("epoch").get<int>();
  record.iteration = json.at("iteration").get<std::int64_t>();
  record.global_iteration = json.at("global_iteration").get<std::int64_t>();
  record.stage = json.at("stage").get<int>();
  record.shape = read_shape(json);
  record.lr = read_number(json, "lr");
  record.loss = read_number(json, "loss");
  record.clips_per_second = read_number(json, "clips_per_second");
  record.data_wait_share = read_number(json, "data_wait_share");
  record.wall_seconds = read_number(json, "wall_seconds");
  return record;
}

epoch_metrics read_epoch(const nlohmann::json& json) {
  epoch_metrics record;
  record.epoch = json.at("epoch").get<int>();
  record.stage = json.at("stage").get<int>();
  record.iterations = json.at("iterations").get<std::int64_t>();
  record.step = json.at("step").get<std::int64_t>();
  record.shape = read_shape(json);
  record.lr = read_number(json, "lr");
  record.loss = read_number(json, "loss");
  record.clips_per_second = read_number(json, "clips_per_second");
  record.data_wait_share = read_number(json, "data_wait_share");
  record.epoch_seconds = read_number(json, "epoch_seconds");
  record.wall_seconds = read_number(json, "wall_seconds");
  return record;
}

evaluation_metrics read_evaluation(const nlohmann::json& json) {
  evaluation_metrics record;
  record.epoch = json.at("epoch").get<int>();
  record.step = json.at("step").get<std::int64_t>();
  record.split = json.at("split").get<std::string>();
  record.views = json.at("views").get<int>();
  record.videos = json.at("videos").get<std::int64_t>();
  record.top1 = read_number(json, "top1");
  record.top5 = read_number(json, "top5");
  record.loss = read_number(json, "loss");
  record.wall_seconds = read_number(json, "wall_seconds");
  return record;
}

// The iterations done when a record was written.
std::int64_t record_step(const nlohmann::json& json) {
  if (json.at("type") == "iteration") return json.at("global_iteration").get<std::int64_t>() + 1;
  return json.at("step").get<std::int64_t>();
}

void add_record(metrics_history& history, const nlohmann::json& json) {
  const auto& type = json.at("type");
  if (type == "iteration") {
    history.iterations.push_back(read_iteration(json));
  } else if (type == "epoch") {
    history.epochs.push_back(read_epoch(json));
  } else if (type == "evaluation") {
    history.evaluations.push_back(read_evaluation(json));
  }
}

}  // namespace

nlohmann::ordered_json to_json(const iteration_metrics& record) {
  return {{"type", "iteration"},
          {"epoch", record.epoch},
          {"iteration", record.iteration},
          {"global_iteration", record.global_iteration},
          {"stage", record.stage},
          {"shape", shape_json(record.shape)},
          {"lr", number(record.lr)},
          {"loss", number(record.loss)},
          {"clips_per_second", number(record.clips_per_second)},
          {"data_wait_share", number(record.data_wait_share)},
          {"wall_seconds", number(record.wall_seconds)}};
}

nlohmann::ordered_json to_json(const epoch_metrics& record) {
  return {{"type", "epoch"},
          {"epoch", record.epoch},
          {"stage", record.stage},
          {"iterations", record.iterations},
          {"step", record.step},
          {"shape", shape_json(record.shape)},
          {"lr", number(record.lr)},
          {"loss", number(record.loss)},
          {"clips_per_second", number(record.clips_per_second)},
          {"data_wait_share", number(record.data_wait_share)},
          {"epoch_seconds", number(record.epoch_seconds)},
          {"wall_seconds", number(record.wall_seconds)}};
}

nlohmann::ordered_json to_json(const evaluation_metrics& record) {
  return {{"type", "evaluation"},        {"epoch", record.epoch},
          {"step", record.step},         {"split", record.split},
          {"views", record.views},       {"videos", record.videos},
          {"top1", number(record.top1)}, {"top5", number(record.top5)},
          {"loss", number(record.loss)}, {"wall_seconds", number(record.wall_seconds)}};
}

metrics_log::metrics_log(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error(path_ + ": cannot open the metrics file: " + std::strerror(errno));
  }
}

metrics_log::~metrics_log() {
  if (fd_ >= 0) ::close(fd_);
}

void metrics_log::append(const iteration_metrics& record) {
  append_line(to_json(record));
}
void metrics_log::append(const epoch_metrics& record) {
  append_line(to_json(record));
}
void metrics_log::append(const evaluation_metrics& record) {
  append_line(to_json(record));
}

void metrics_log::append_line(const nlohmann::ordered_json& record) {
  // One write per line: with O_APPEND a line reaches the file whole or, if the process dies in
  // the call, as a torn tail that read_metrics skips.
  const std::string line = record.dump() + "\n";
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t result = ::write(fd_, line.data() + written, line.size() - written);
    if (result < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(path_ + ": cannot append metrics: " + std::strerror(errno));
    }
    written += static_cast<std::size_t>(result);
  }
}

void metrics_log::sync() {
  if (::fsync(fd_) != 0) {
    throw std::runtime_error(path_ + ": cannot flush metrics: " + std::strerror(errno));
  }
}

namespace {

// Calls `visit(json, line_text)` for every record. A file that does not end in a newline was cut
// mid-line by a crash: that last piece is skipped if it does not parse.
template <class Visit>
void for_each_record(const std::string& path, Visit&& visit) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw metrics_error(path + ": cannot open the metrics file");
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string text = buffer.str();
  std::size_t begin = 0;
  int number = 0;
  while (begin < text.size()) {
    ++number;
    const auto end = text.find('\n', begin);
    const bool torn = end == std::string::npos;
    const std::string line = text.substr(begin, torn ? std::string::npos : end - begin);
    begin = torn ? text.size() : end + 1;
    if (line.empty()) continue;
    try {
      visit(nlohmann::json::parse(line), line);
    } catch (const nlohmann::json::exception& error) {
      if (torn) return;
      throw metrics_error(path + ":" + std::to_string(number) + ": not a metrics record (" +
                          error.what() + ")");
    }
  }
}

}  // namespace

metrics_history read_metrics(const std::string& path) {
  metrics_history history;
  for_each_record(
      path, [&](const nlohmann::json& json, const std::string&) { add_record(history, json); });
  return history;
}

void truncate_metrics(const std::string& path, std::int64_t step) {
  if (::access(path.c_str(), F_OK) != 0) return;
  std::string kept;
  for_each_record(path, [&](const nlohmann::json& json, const std::string& line) {
    if (record_step(json) <= step) kept += line + "\n";
  });
  write_file_atomically(path, kept);
}

nlohmann::ordered_json history_to_json(const metrics_history& history) {
  auto records = nlohmann::ordered_json::array();
  for (const auto& record : history.epochs) records.push_back(to_json(record));
  for (const auto& record : history.evaluations) records.push_back(to_json(record));
  return records;
}

metrics_history history_from_json(const nlohmann::json& json) {
  metrics_history history;
  for (const auto& record : json) add_record(history, record);
  return history;
}

}  // namespace multigrid::reference
