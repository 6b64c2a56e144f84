#include "train/metrics.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "temporary_folder.hpp"

using namespace multigrid::reference;
using multigrid::reference::testing::temporary_folder;

namespace {

iteration_metrics iteration_at(int epoch, std::int64_t iteration, std::int64_t per_epoch) {
  iteration_metrics record;
  record.epoch = epoch;
  record.iteration = iteration;
  record.global_iteration = epoch * per_epoch + iteration;
  record.stage = epoch / 2;
  record.shape = {8, 16, 4, 112};
  record.lr = 0.1 / (1 + epoch);
  record.loss = 2.0 - 0.01 * static_cast<double>(record.global_iteration);
  record.clips_per_second = 100 + iteration;
  record.data_wait_share = 0.25;
  record.wall_seconds = 0.5 * static_cast<double>(record.global_iteration + 1);
  return record;
}

epoch_metrics epoch_end(int epoch, std::int64_t per_epoch) {
  epoch_metrics record;
  record.epoch = epoch;
  record.stage = epoch / 2;
  record.iterations = per_epoch;
  record.step = (epoch + 1) * per_epoch;
  record.shape = {8, 16, 4, 112};
  record.lr = 0.1;
  record.loss = 1.5;
  record.clips_per_second = 120;
  record.data_wait_share = 0.2;
  record.epoch_seconds = 2;
  record.wall_seconds = 2.0 * (epoch + 1);
  return record;
}

void write_run(const std::string& path, int epochs, std::int64_t per_epoch) {
  metrics_log log(path);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (std::int64_t i = 0; i < per_epoch; ++i) log.append(iteration_at(epoch, i, per_epoch));
    log.append(epoch_end(epoch, per_epoch));
    evaluation_metrics evaluation;
    evaluation.epoch = epoch;
    evaluation.step = (epoch + 1) * per_epoch;
    evaluation.videos = 20;
    evaluation.top1 = 10.0 * (epoch + 1);
    evaluation.top5 = 30.0 + epoch;
    evaluation.loss = std::nan("");
    evaluation.wall_seconds = 2.0 * (epoch + 1) + 0.5;
    log.append(evaluation);
  }
  log.sync();
}

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("metrics records are written as JSON lines and read back") {
  temporary_folder folder("metrics");
  const auto path = folder.file("metrics.jsonl");
  write_run(path, 3, 4);
  const auto text = read_text(path);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3 * (4 + 2));
  CHECK(text.find("{\"type\":\"iteration\",\"epoch\":0,\"iteration\":0") == 0);

  const auto history = read_metrics(path);
  REQUIRE(history.iterations.size() == 12);
  REQUIRE(history.epochs.size() == 3);
  REQUIRE(history.evaluations.size() == 3);
  const auto& record = history.iterations[6];
  CHECK(record.epoch == 1);
  CHECK(record.iteration == 2);
  CHECK(record.global_iteration == 6);
  CHECK(record.shape.global_batch == 16);
  CHECK(record.shape.crop == 112);
  CHECK(record.lr == doctest::Approx(0.05));
  CHECK(record.loss == doctest::Approx(1.94));
  CHECK(history.epochs[2].step == 12);
  CHECK(history.evaluations[1].top1 == 20.0);
  CHECK(std::isnan(history.evaluations[1].loss));  // written as null
}

TEST_CASE("appending continues an existing file") {
  temporary_folder folder("metrics-append");
  const auto path = folder.file("metrics.jsonl");
  { metrics_log(path).append(iteration_at(0, 0, 2)); }
  { metrics_log(path).append(iteration_at(0, 1, 2)); }
  CHECK(read_metrics(path).iterations.size() == 2);
}

TEST_CASE("a line torn by a crash is skipped, a bad line elsewhere names file and line") {
  temporary_folder folder("metrics-torn");
  const auto path = folder.file("metrics.jsonl");
  write_run(path, 1, 3);
  {
    std::ofstream file(path, std::ios::app);
    file << "{\"type\":\"iteration\",\"epoch\":1,\"itera";  // the process died mid-write
  }
  CHECK(read_metrics(path).iterations.size() == 3);

  const auto bad = folder.file("bad.jsonl");
  {
    std::ofstream file(bad);
    file << to_json(iteration_at(0, 0, 3)).dump() << "\n"
         << "not json\n"
         << to_json(iteration_at(0, 1, 3)).dump() << "\n";
  }
  CHECK_THROWS_WITH_AS(read_metrics(bad),
                       doctest::Contains((bad + ":2: not a metrics record").c_str()),
                       metrics_error);
  {
    std::ofstream file(bad);
    file << "{\"type\":\"iteration\",\"epoch\":0}\n\n";  // a record without its fields
  }
  CHECK_THROWS_WITH_AS(read_metrics(bad), doctest::Contains((bad + ":1:").c_str()), metrics_error);
  CHECK_THROWS_AS(read_metrics(folder.file("missing.jsonl")), metrics_error);
}

TEST_CASE("truncating keeps what a checkpoint at that step had written") {
  temporary_folder folder("metrics-truncate");
  const auto path = folder.file("metrics.jsonl");
  write_run(path, 3, 4);
  truncate_metrics(path, 6);  // resumed 2 iterations into epoch 1
  auto history = read_metrics(path);
  CHECK(history.iterations.size() == 6);
  CHECK(history.iterations.back().global_iteration == 5);
  CHECK(history.epochs.size() == 1);
  CHECK(history.evaluations.size() == 1);

  truncate_metrics(path,
                   4);  // resumed at the end of epoch 0: its epoch and evaluation records stay
  history = read_metrics(path);
  CHECK(history.iterations.size() == 4);
  CHECK(history.epochs.size() == 1);
  CHECK(history.evaluations.size() == 1);

  truncate_metrics(folder.file("absent.jsonl"), 3);
  CHECK_FALSE(std::ifstream(folder.file("absent.jsonl")).good());
}

TEST_CASE("epoch and evaluation history round-trips through JSON") {
  metrics_history history;
  history.epochs.push_back(epoch_end(0, 5));
  history.epochs.push_back(epoch_end(1, 5));
  evaluation_metrics test;
  test.split = "test";
  test.views = 30;
  test.top1 = 55.5;
  history.evaluations.push_back(test);
  const auto text = history_to_json(history).dump();
  const auto again = history_from_json(nlohmann::json::parse(text));
  REQUIRE(again.epochs.size() == 2);
  CHECK(again.epochs[1].step == 10);
  REQUIRE(again.evaluations.size() == 1);
  CHECK(again.evaluations[0].split == "test");
  CHECK(again.evaluations[0].views == 30);
  CHECK(again.evaluations[0].top1 == 55.5);
}
