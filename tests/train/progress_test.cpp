#include "train/progress.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <string>

#include "train/throughput_meter.hpp"

using namespace multigrid::reference;

namespace {

progress_state state_at(std::int64_t iteration) {
  progress_state state;
  state.epoch = 2;
  state.epochs = 40;
  state.iteration = iteration;
  state.iterations = 10;
  state.stage = 1;
  state.shape = {16, 32, 8, 112};
  state.lr = 0.08;
  state.loss = 2.3141;
  state.clips_per_second = 412.34;
  state.data_wait_share = 0.12;
  state.epoch_seconds = 5.0 * static_cast<double>(iteration + 1);
  state.global_iteration = 20 + iteration;
  state.total_iterations = 400;
  state.seconds_per_iteration = 5;
  return state;
}

std::string contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  return text;
}

}  // namespace

TEST_CASE("the progress fields show position, stage, shape, LR, loss, speed, data wait and ETA") {
  const auto text = format_progress_fields(state_at(4));
  // 375 iterations left at 5 s each.
  CHECK(text ==
        "epoch 3/40 iter 5/10 (25/400) stage 1 B 16x8x112 lr 0.08 loss 2.3141 412.3 clips/s "
        "data 12% eta 31:15");
  auto unknown = state_at(4);
  unknown.seconds_per_iteration = 0;
  CHECK(run_seconds_left(unknown) < 0);
  CHECK(format_progress_fields(unknown).find("eta --:--") != std::string::npos);
}

TEST_CASE("the terminal line fills its bar with the epoch and drops fields to fit the width") {
  const auto half = format_progress_bar(state_at(4), 200);
  CHECK(half ==
        "[############............] 5/10 00:25<00:25 epoch 3/40 stage 1 B 16x8x112 lr 0.08 "
        "loss 2.3141 412.3 clips/s data 12% eta 31:15");
  CHECK(format_progress_bar(state_at(9), 200)
            .rfind("[########################] 10/10 00:50<00:00", 0) == 0);
  // An 80-column terminal: the bar, the epoch's times and the stage go.
  const auto narrow = format_progress_bar(state_at(4), 80);
  CHECK(narrow ==
        "5/10 epoch 3/40 B 16x8x112 lr 0.08 loss 2.3141 412.3 clips/s data 12% eta 31:15");
  // Narrower still: the position, LR and loss stay whole.
  CHECK(format_progress_bar(state_at(4), 40) == "5/10 epoch 3/40 lr 0.08 loss 2.3141");
  CHECK(format_progress_bar(state_at(4), 20).size() == 19);
}

TEST_CASE("not on a terminal: one plain line every LOG_PERIOD iterations and at the end") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  progress_display display(file, /*interactive=*/false, /*log_period=*/4);
  for (std::int64_t i = 0; i < 10; ++i) display.update(state_at(i));
  epoch_metrics epoch;
  epoch.epoch = 2;
  epoch.iterations = 10;
  epoch.loss = 2.0;
  display.end_epoch(epoch, 40);
  display.message("val top-1 12.50%");
  const auto text = contents(file);
  std::fclose(file);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') ==
        3 + 2);  // iterations 4, 8, 10; summary; message
  // Every line of a log starts with the local time.
  const std::regex stamped(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d epoch 3/40 iter 4/10 \(24/400\))");
  CHECK(std::regex_search(text, stamped));
  CHECK(text.find("epoch 3/40 done: stage 0 B 0x0x0, 10 iterations, loss 2.0000") !=
        std::string::npos);
  CHECK(text.find("val top-1 12.50%\n") != std::string::npos);
}

TEST_CASE("on a terminal the log file still gets the time-stamped lines") {
  std::FILE* terminal = std::tmpfile();
  std::FILE* log = std::tmpfile();
  REQUIRE(terminal != nullptr);
  REQUIRE(log != nullptr);
  progress_display display(terminal, /*interactive=*/true, /*log_period=*/5, log);
  for (std::int64_t i = 0; i < 10; ++i) display.update(state_at(i));
  display.message("val after epoch 3: top-1 12.50%");
  const auto on_terminal = contents(terminal);
  const auto logged = contents(log);
  std::fclose(terminal);
  std::fclose(log);
  CHECK(on_terminal.find("val after epoch 3: top-1 12.50%\n") != std::string::npos);
  CHECK(on_terminal.find("iter 5/10") == std::string::npos);  // the bar shows "5/10"
  CHECK(logged.find('\r') == std::string::npos);
  CHECK(std::count(logged.begin(), logged.end(), '\n') == 3);  // iterations 5, 10; message
  CHECK(
      std::regex_search(logged, std::regex(R"(\d\d:\d\d:\d\d epoch 3/40 iter 10/10 \(30/400\))")));
  CHECK(
      std::regex_search(logged, std::regex(R"(\d\d:\d\d:\d\d val after epoch 3: top-1 12.50%\n)")));
}

TEST_CASE("on a terminal: the bar is redrawn in place and cleared before other lines") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  progress_display display(file, /*interactive=*/true, 4);
  display.update(state_at(0));
  display.update(state_at(9));
  display.message("evaluating");
  const auto text = contents(file);
  std::fclose(file);
  CHECK(text.rfind("\r\033[K", 0) == 0);
  CHECK(text.find("1/10 ") != std::string::npos);
  CHECK(text.find("10/10") != std::string::npos);
  CHECK(text.find("\r\033[Kevaluating\n") != std::string::npos);
}

TEST_CASE("the throughput meter splits waiting for data from the rest") {
  using namespace std::chrono;
  throughput_meter meter;
  const auto start = throughput_meter::clock::time_point{} + seconds(100);
  meter.begin_epoch(start);
  meter.batch_arrived(start + milliseconds(250));
  meter.iteration_done(64, start + seconds(1));
  CHECK(meter.last_clips_per_second() == doctest::Approx(64));
  CHECK(meter.last_data_wait_share() == doctest::Approx(0.25));
  meter.batch_arrived(start + seconds(1));
  meter.iteration_done(32, start + seconds(2));
  CHECK(meter.last_data_wait_share() == doctest::Approx(0));
  CHECK(meter.epoch_clips() == 96);
  CHECK(meter.epoch_seconds() == doctest::Approx(2));
  CHECK(meter.epoch_clips_per_second() == doctest::Approx(48));
  CHECK(meter.epoch_data_wait_share() == doctest::Approx(0.125));
}
