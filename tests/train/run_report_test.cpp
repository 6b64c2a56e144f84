#include "train/run_report.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "child_process.hpp"
#include "report/atomic_file.hpp"
#include "temporary_folder.hpp"
#include "train/run_layout.hpp"

using namespace multigrid::reference;
using multigrid::reference::testing::temporary_folder;

namespace {

// A run of `epochs` epochs of `per_epoch` iterations, one validation per epoch, and a final test.
void write_run(const run_layout& layout, int epochs, std::int64_t per_epoch, int global_batch,
               double seconds_per_iteration, const std::string& config) {
  std::filesystem::create_directories(layout.output_dir);
  write_file_atomically(layout.config(), config);
  metrics_log log(layout.metrics());
  double wall = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (std::int64_t i = 0; i < per_epoch; ++i) {
      wall += seconds_per_iteration;
      iteration_metrics record;
      record.epoch = epoch;
      record.iteration = i;
      record.global_iteration = epoch * per_epoch + i;
      record.shape = {global_batch, global_batch, 8, 112};
      record.lr = 0.1;
      record.loss = 3.0 / (1.0 + 0.1 * static_cast<double>(record.global_iteration));
      record.clips_per_second = global_batch / seconds_per_iteration;
      record.wall_seconds = wall;
      log.append(record);
    }
    epoch_metrics summary;
    summary.epoch = epoch;
    summary.iterations = per_epoch;
    summary.step = (epoch + 1) * per_epoch;
    summary.loss = 1.0 / (epoch + 1);
    summary.clips_per_second = global_batch / seconds_per_iteration;
    summary.epoch_seconds = seconds_per_iteration * static_cast<double>(per_epoch);
    summary.wall_seconds = wall;
    log.append(summary);
    evaluation_metrics validation;
    validation.epoch = epoch;
    validation.step = summary.step;
    validation.videos = 50;
    validation.top1 = 10.0 * (epoch + 1);
    validation.top5 = 10.0 * (epoch + 1) + 2;
    validation.wall_seconds = wall;
    log.append(validation);
  }
  evaluation_metrics test;
  test.epoch = epochs - 1;
  test.split = "test";
  test.views = 30;
  test.videos = 50;
  test.top1 = 42.0;
  test.top5 = 80.0;
  test.wall_seconds = wall + 1;
  log.append(test);
}

const char* standard_config = "SOLVER:\n  MAX_EPOCH: 3\n  BASE_LR: 0.1\nTRAIN:\n  BATCH_SIZE: 8\n";
const char* multigrid_config =
    "SOLVER:\n  MAX_EPOCH: 3\n  BASE_LR: 0.1\n  LR_POLICY: steps_with_relative_lrs\n"
    "  STEPS: [0, 2]\n  LRS: [1, 0.1]\nTRAIN:\n  BATCH_SIZE: 8\nMULTIGRID:\n  LONG_CYCLE: True\n"
    "  SHORT_CYCLE: True\n";

std::size_t count(const std::string& text, const std::string& pattern) {
  std::size_t found = 0;
  for (auto at = text.find(pattern); at != std::string::npos; at = text.find(pattern, at + 1))
    ++found;
  return found;
}

}  // namespace

TEST_CASE("the report of two runs shares the axes and draws both schedules") {
  temporary_folder folder("report");
  const run_layout standard{folder.file("standard")};
  const run_layout multigrid{folder.file("multigrid")};
  write_run(standard, 3, 10, 8, 1.0, standard_config);
  write_run(multigrid, 4, 6, 32, 0.5, multigrid_config);

  const std::vector<run_record> runs = {load_run(standard.output_dir),
                                        load_run(multigrid.output_dir)};
  CHECK(runs[0].label == "standard");
  REQUIRE(runs[1].schedule.has_value());
  CHECK(runs[1].schedule->multigrid.long_cycle);

  const auto epoch_chart = run_epoch_chart(runs);
  // loss, accuracy, then the schedule's four panels (batch, frames, crop, LR)
  REQUIRE(epoch_chart.panels.size() == 6);
  CHECK(epoch_chart.panels[0].series.size() == 2);
  CHECK(epoch_chart.panels[0].series[1].label == "multigrid: loss");
  CHECK(epoch_chart.panels[1].series.size() == 4);
  CHECK(epoch_chart.panels[1].series[2].y == std::vector<double>{10, 20, 30, 40});
  CHECK(epoch_chart.panels[2].series.size() == 2);  // each run's global batch
  // A colour means a run in every panel; top-5 is the dashed line of its run's colour.
  for (const auto& panel : epoch_chart.panels) {
    for (const auto& series : panel.series) {
      const bool of_multigrid = series.label.rfind("multigrid: ", 0) == 0;
      CHECK(series.color == chart_color(of_multigrid ? 1 : 0));
      CHECK(series.dashed == (series.label.find("top-5") != std::string::npos));
    }
  }
  CHECK(chart_color(0) != chart_color(1));
  // Runs that trained alike must not hide each other: the first run's lines are wider, and each
  // run marks its evaluations with its own shape.
  CHECK(epoch_chart.panels[0].series[0].width > epoch_chart.panels[0].series[1].width);
  CHECK(epoch_chart.panels[1].series[0].marker != chart_series::mark::none);
  CHECK(epoch_chart.panels[1].series[0].marker != epoch_chart.panels[1].series[2].marker);
  // The charts name the runs and their final accuracies.
  CHECK(epoch_chart.title == "standard and multigrid: training against epochs");
  CHECK(epoch_chart.subtitle ==
        "standard: test top-1 42.00 % (30 views) · multigrid: test top-1 42.00 % (30 views)");
  CHECK(runs[0].final_accuracy() == "test top-1 42.00 % (30 views)");
  const auto time_chart = run_time_chart(runs);
  REQUIRE(time_chart.panels.size() == 4);
  CHECK(time_chart.panels[3].series[0].color == chart_color(0));
  CHECK(time_chart.panels[3].series[1].color == chart_color(1));
  CHECK(time_chart.x_label == "wall-clock (minutes)");
  // The recorded batch changes nowhere: a step series of its first and last point.
  CHECK(time_chart.panels[2].series[1].y == std::vector<double>{32, 32});

  const auto svg = run_report_svg(runs);
  CHECK(svg.rfind("<svg xmlns", 0) == 0);
  CHECK(count(svg, "<svg ") == 3);  // the document and the two charts inside it
  CHECK(count(svg, "</svg>") == 3);
  CHECK(svg.find("training against epochs") != std::string::npos);
  CHECK(svg.find("training against wall-clock") != std::string::npos);
  CHECK(svg.find("multigrid: val top-1") != std::string::npos);
  CHECK(std::regex_search(svg,
                          std::regex("<svg y=\"[1-9][0-9.]*\"")));  // second chart below the first

  write_run_report(runs, folder.file("report.svg"));
  CHECK(std::filesystem::file_size(folder.file("report.svg")) == svg.size());

  const auto table = run_summary_table(runs);
  CHECK(table.find("standard") != std::string::npos);
  CHECK(std::regex_search(
      table,
      std::regex(
          R"(standard\s+3\s+30\s+0:00:31\s+8\.0\s+0\.3333\s+30\.00/32\.00\s+42\.00/80\.00 \(30\))")));
  CHECK(std::regex_search(
      table, std::regex(R"(multigrid\s+4\s+24\s+0:00:13\s+64\.0\s+0\.2500\s+40\.00/42\.00)")));
}

TEST_CASE("with five classes or fewer the report shows no top-5, which is always 100 %") {
  temporary_folder folder("report-top5");
  const run_layout few{folder.file("few")};
  write_run(few, 2, 4, 8, 1.0, std::string(standard_config) + "MODEL:\n  NUM_CLASSES: 5\n");
  const auto run = load_run(few.output_dir);
  CHECK(run.num_classes == 5);
  CHECK_FALSE(run.shows_top5());
  const auto epoch_chart = run_epoch_chart({run});
  REQUIRE(epoch_chart.panels[1].series.size() == 1);
  CHECK(epoch_chart.panels[1].series[0].label == "val top-1");
  CHECK(epoch_chart.title == "few: training against epochs");
  CHECK(run_report_svg({run}).find("top-5") == std::string::npos);
  CHECK(std::regex_search(run_summary_table({run}), std::regex(R"(20\.00/-\s+42\.00/- \(30\))")));

  const run_layout many{folder.file("many")};
  write_run(many, 2, 4, 8, 1.0, std::string(standard_config) + "MODEL:\n  NUM_CLASSES: 6\n");
  CHECK(run_epoch_chart({load_run(many.output_dir)}).panels[1].series.size() == 2);
}

TEST_CASE("the loss axis fits where the curves start, not one run's divergence") {
  // An ordinary loss falls from its start: nothing is cut, however skewed the values.
  std::vector<double> decaying;
  for (int i = 0; i < 2000; ++i) decaying.push_back(3.0 / (1.0 + 0.1 * i));
  CHECK(std::isnan(outlier_clip_limit({decaying})));
  // A warm-up's bump to 1.2 times the start stays in view.
  auto bump = decaying;
  bump[300] = 3.6;
  CHECK(std::isnan(outlier_clip_limit({bump})));
  // A run that diverges is cut at 1.25 times the highest start: 3.75.
  auto diverging = decaying;
  for (int i = 1500; i < 1600; ++i) diverging[static_cast<std::size_t>(i)] = 1e4;
  CHECK(outlier_clip_limit({decaying, diverging}) == doctest::Approx(3.75));
  // A start is the largest of the first twentieth (noise in the first points counts).
  auto noisy = decaying;
  noisy[50] = 3.4;
  noisy[1900] = 100;
  CHECK(outlier_clip_limit({noisy}) == doctest::Approx(1.25 * 3.4));
  CHECK(std::isnan(outlier_clip_limit({{NAN}, {}})));

  temporary_folder folder("report-outlier");
  const run_layout calm{folder.file("calm")};
  const run_layout diverged{folder.file("diverged")};
  write_run(calm, 3, 10, 8, 1.0, standard_config);
  write_run(diverged, 3, 10, 8, 1.0, standard_config);
  {
    // The second run's loss explodes over its last iterations.
    metrics_log log(diverged.metrics());
    for (int i = 0; i < 3; ++i) {
      iteration_metrics record;
      record.epoch = 2;
      record.iteration = 10 + i;
      record.global_iteration = 30 + i;
      record.shape = {8, 8, 8, 112};
      record.loss = 1e4 * (i + 1);
      record.wall_seconds = 31 + i;
      log.append(record);
    }
  }
  const std::vector<run_record> runs = {load_run(calm.output_dir), load_run(diverged.output_dir)};
  const auto figure = run_epoch_chart(runs);
  CHECK(figure.panels[0].clip_outliers);
  const auto svg = render_svg(figure);
  const auto note = svg.find("drawn at the top edge");
  REQUIRE(note != std::string::npos);
  // The axis ends just above where the runs started (3), not at 30,000.
  CHECK(svg.find("values above 3.75 drawn") != std::string::npos);
  // A panel without outliers is not cut.
  CHECK(render_svg(run_epoch_chart({runs[0]})).find("drawn at the top edge") == std::string::npos);
}

TEST_CASE("a crashed run without config or finished epoch still gives a report") {
  temporary_folder folder("report-crash");
  const run_layout crashed{folder.file("crashed")};
  std::filesystem::create_directories(crashed.output_dir);
  {
    metrics_log log(crashed.metrics());
    iteration_metrics record;
    record.shape = {4, 4, 8, 64};
    record.loss = 2.5;
    record.wall_seconds = 3;
    log.append(record);
    record.iteration = record.global_iteration = 1;
    record.wall_seconds = 6;
    log.append(record);
  }
  { std::ofstream(crashed.metrics(), std::ios::app) << "{\"type\":\"iter"; }
  const auto run = load_run(crashed.output_dir, "crashed run");
  CHECK_FALSE(run.schedule.has_value());
  CHECK(run.metrics.iterations.size() == 2);
  const auto svg = run_report_svg({run});
  CHECK(svg.find("training loss") != std::string::npos);
  const auto table = run_summary_table({run});
  CHECK(std::regex_search(table, std::regex(R"(crashed run\s+0\s+2\s+0:00:06\s+-\s+-)")));
}

TEST_CASE("stacking SVG documents offsets each below the previous") {
  const std::string a =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"50\"><rect/></svg>\n";
  const std::string b =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"30\"><circle/></svg>\n";
  const auto stacked = stack_svg_documents({a, b});
  CHECK(stacked.find("width=\"120.00\" height=\"80.00\"") != std::string::npos);
  CHECK(stacked.find("<svg y=\"0.00\" xmlns") != std::string::npos);
  CHECK(stacked.find("<svg y=\"50.00\" xmlns") != std::string::npos);
}

#ifdef RUN_REPORT_TOOL
TEST_CASE("multigrid-run-report rebuilds the report of run folders") {
  temporary_folder folder("report-tool");
  const run_layout standard{folder.file("standard")};
  const run_layout multigrid{folder.file("multigrid")};
  write_run(standard, 2, 5, 8, 1.0, standard_config);
  write_run(multigrid, 3, 4, 32, 0.5, multigrid_config);
  using multigrid::reference::testing::child_process;
  {
    child_process tool({RUN_REPORT_TOOL, standard.output_dir}, {}, folder.file("one.log"));
    CHECK(tool.wait_for(std::chrono::seconds(60)) == 0);
    CHECK(tool.output().find("standard") != std::string::npos);
    CHECK(std::filesystem::file_size(standard.report()) > 1000);
  }
  {
    child_process tool({RUN_REPORT_TOOL, "--label", "baseline", standard.output_dir,
                        multigrid.output_dir, "--svg", folder.file("both.svg")},
                       {}, folder.file("two.log"));
    CHECK(tool.wait_for(std::chrono::seconds(60)) == 0);
    CHECK(tool.output().find("baseline") != std::string::npos);
    CHECK(tool.output().find("multigrid") != std::string::npos);
    CHECK(std::filesystem::exists(folder.file("both.svg")));
  }
  {
    child_process tool({RUN_REPORT_TOOL, standard.output_dir, multigrid.output_dir}, {},
                       folder.file("usage.log"));
    CHECK(tool.wait_for(std::chrono::seconds(60)) == 2);
    CHECK(tool.output().find("several runs: name the report with --svg FILE") != std::string::npos);
  }
  {
    std::ofstream(multigrid.metrics(), std::ios::app) << "garbage\n{\"type\":\"epoch\"}\n";
    child_process tool({RUN_REPORT_TOOL, multigrid.output_dir}, {}, folder.file("bad.log"));
    CHECK(tool.wait_for(std::chrono::seconds(60)) == 1);
    CHECK(tool.output().find(multigrid.metrics() + ":20: not a metrics record") !=
          std::string::npos);
  }
}
#endif
