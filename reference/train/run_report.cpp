#include "train/run_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "config/config_keys.hpp"
#include "config/schedule_config.hpp"
#include "report/atomic_file.hpp"
#include "report/schedule_report.hpp"
#include "train/run_layout.hpp"

namespace multigrid::reference {
namespace {

constexpr std::size_t max_points = 600;

std::string format_text(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  const auto total = static_cast<long>(seconds + 0.5);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60,
                total % 60);
  return buffer;
}

// Means over consecutive groups so that a long run draws at most max_points points.
chart_series binned(const std::string& label, const std::vector<double>& x,
                    const std::vector<double>& y) {
  chart_series series{label, {}, {}, false, ""};
  const std::size_t group = std::max<std::size_t>(1, (x.size() + max_points - 1) / max_points);
  for (std::size_t begin = 0; begin < x.size(); begin += group) {
    const std::size_t end = std::min(x.size(), begin + group);
    double sum_x = 0;
    double sum_y = 0;
    std::size_t count = 0;
    for (std::size_t i = begin; i < end; ++i) {
      if (!std::isfinite(y[i])) continue;
      sum_x += x[i];
      sum_y += y[i];
      ++count;
    }
    if (count == 0) continue;
    series.x.push_back(sum_x / static_cast<double>(count));
    series.y.push_back(sum_y / static_cast<double>(count));
  }
  return series;
}

// Iterations per epoch as the run recorded them: from the epoch records, else the largest
// iteration seen (an epoch cut short by a crash).
std::map<int, double> iterations_per_epoch(const metrics_history& metrics) {
  std::map<int, double> counts;
  for (const auto& record : metrics.iterations) {
    auto& count = counts[record.epoch];
    count = std::max(count, static_cast<double>(record.iteration + 1));
  }
  for (const auto& record : metrics.epochs)
    counts[record.epoch] = static_cast<double>(record.iterations);
  return counts;
}

std::string prefixed(const std::vector<run_record>& runs, const run_record& run,
                     const std::string& name) {
  return runs.size() > 1 ? run.label + ": " + name : name;
}

// With several runs, each run keeps one colour in every panel (top-5 dashed), so that a colour
// means a run throughout the report. Runs that trained alike draw the same curves: the first run's
// lines are the widest and the last's the thinnest, drawn on top, and each run marks its
// evaluations with its own shape, so that no curve hides another.
void style_by_run(chart& figure, const std::vector<run_record>& runs) {
  if (runs.size() < 2) return;
  const chart_series::mark marks[] = {chart_series::mark::circle, chart_series::mark::square,
                                      chart_series::mark::triangle};
  for (auto& panel : figure.panels) {
    for (auto& series : panel.series) {
      for (std::size_t r = 0; r < runs.size(); ++r) {
        if (series.label.rfind(runs[r].label + ": ", 0) != 0) continue;
        series.color = chart_color(r);
        const auto later_runs = std::min<std::size_t>(runs.size() - 1 - r, 3);
        series.width = 1.5 + 2.0 * static_cast<double>(later_runs);
        if (series.marker != chart_series::mark::none) series.marker = marks[r % 3];
      }
    }
  }
}

// "standard: test top-1 75.50 % (30 views) · multigrid: ..." for the charts' subtitle.
std::string final_accuracies(const std::vector<run_record>& runs) {
  std::string text;
  for (const auto& run : runs) {
    const auto accuracy = run.final_accuracy();
    if (accuracy.empty()) continue;
    if (!text.empty()) text += " · ";
    text += (runs.size() > 1 ? run.label + ": " : std::string()) + accuracy;
  }
  return text;
}

// "standard and multigrid" or "a, b and c".
std::string run_names(const std::vector<run_record>& runs) {
  std::string text;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    if (r > 0) text += r + 1 == runs.size() ? " and " : ", ";
    text += runs[r].label;
  }
  return text;
}

chart_series validation_series(const std::vector<run_record>& runs, const run_record& run,
                               bool top5, bool against_time, double time_scale) {
  chart_series series{prefixed(runs, run, top5 ? "val top-5" : "val top-1"), {}, {}, false, ""};
  series.dashed = top5;
  series.marker = chart_series::mark::circle;
  for (const auto& record : run.metrics.evaluations) {
    if (record.split != "val") continue;
    series.x.push_back(against_time ? record.wall_seconds / time_scale : record.epoch + 1.0);
    series.y.push_back(top5 ? record.top5 : record.top1);
  }
  return series;
}

// A step series that changes only where the recorded value does.
chart_series recorded_steps(const std::string& label, const std::vector<iteration_metrics>& records,
                            double time_scale, double (*value)(const iteration_metrics&)) {
  chart_series series{label, {}, {}, true, ""};
  for (std::size_t i = 0; i < records.size(); ++i) {
    const double y = value(records[i]);
    const bool last = i + 1 == records.size();
    if (series.y.empty() || series.y.back() != y || last) {
      series.x.push_back(records[i].wall_seconds / time_scale);
      series.y.push_back(y);
    }
  }
  return series;
}

double largest_wall_seconds(const std::vector<run_record>& runs) {
  double largest = 0;
  for (const auto& run : runs) {
    for (const auto& record : run.metrics.iterations)
      largest = std::max(largest, record.wall_seconds);
    for (const auto& record : run.metrics.evaluations)
      largest = std::max(largest, record.wall_seconds);
  }
  return largest;
}

std::string svg_attribute(const std::string& tag, const std::string& name) {
  const auto position = tag.find(" " + name + "=\"");
  if (position == std::string::npos) return "";
  const auto begin = position + name.size() + 3;
  return tag.substr(begin, tag.find('"', begin) - begin);
}

}  // namespace

std::string run_record::final_accuracy() const {
  const evaluation_metrics* last_test = nullptr;
  const evaluation_metrics* last_validation = nullptr;
  for (const auto& record : metrics.evaluations) {
    if (record.split == "test") last_test = &record;
    if (record.split == "val") last_validation = &record;
  }
  const auto* record = last_test ? last_test : last_validation;
  if (record == nullptr) return "";
  return record->split + " top-1 " + format_text("%.2f", record->top1) + " % (" +
         std::to_string(record->views) + (record->views == 1 ? " view)" : " views)");
}

run_record load_run(const std::string& output_dir, const std::string& label) {
  const run_layout layout{output_dir};
  run_record run;
  run.label = label.empty() ? std::filesystem::path(output_dir).filename().string() : label;
  if (run.label.empty()) run.label = output_dir;
  run.metrics = read_metrics(layout.metrics());
  if (std::filesystem::exists(layout.config())) {
    const auto tree = config_tree::load_file(layout.config());
    auto cfg = read_schedule_config(tree);
    check_schedule_config(tree, cfg);
    run.schedule = std::move(cfg);
    run.num_classes = static_cast<int>(tree.get(keys::model_num_classes));
  }
  return run;
}

chart run_epoch_chart(const std::vector<run_record>& runs) {
  chart figure;
  figure.title = run_names(runs) + ": training against epochs";
  figure.subtitle = final_accuracies(runs);
  figure.x_label = "epoch";
  chart_panel loss{"training loss", {}, false, 160, /*clip_outliers=*/true};
  chart_panel accuracy{"accuracy (%)", {}, false, 140};
  std::vector<chart_panel> schedule_panels;
  for (const auto& run : runs) {
    const auto counts = iterations_per_epoch(run.metrics);
    std::vector<double> x;
    std::vector<double> y;
    for (const auto& record : run.metrics.iterations) {
      x.push_back(record.epoch + (record.iteration + 0.5) / counts.at(record.epoch));
      y.push_back(record.loss);
    }
    loss.series.push_back(binned(prefixed(runs, run, "loss"), x, y));
    accuracy.series.push_back(validation_series(runs, run, false, false, 1));
    if (run.shows_top5()) accuracy.series.push_back(validation_series(runs, run, true, false, 1));
    if (!run.schedule) continue;
    auto schedule = schedule_chart(*run.schedule, "");
    if (runs.size() == 1) figure.x_marks = schedule.x_marks;
    if (schedule_panels.empty()) {
      schedule_panels = schedule.panels;
      for (auto& panel : schedule_panels) panel.series.clear();
    }
    for (std::size_t p = 0; p < schedule.panels.size() && p < schedule_panels.size(); ++p) {
      for (auto series : schedule.panels[p].series) {
        series.label = prefixed(runs, run, series.label);
        schedule_panels[p].series.push_back(std::move(series));
      }
    }
  }
  figure.panels.push_back(std::move(loss));
  figure.panels.push_back(std::move(accuracy));
  for (auto& panel : schedule_panels) figure.panels.push_back(std::move(panel));
  style_by_run(figure, runs);
  return figure;
}

chart run_time_chart(const std::vector<run_record>& runs) {
  const double largest = largest_wall_seconds(runs);
  const bool hours = largest > 2 * 3600;
  const double scale = hours ? 3600 : 60;
  chart figure;
  figure.title = run_names(runs) + ": training against wall-clock";
  figure.subtitle = final_accuracies(runs);
  figure.x_label = hours ? "wall-clock (hours)" : "wall-clock (minutes)";
  chart_panel loss{"training loss", {}, false, 160, /*clip_outliers=*/true};
  chart_panel accuracy{"accuracy (%)", {}, false, 140};
  chart_panel batch{"global batch (clips)", {}, false, 100};
  chart_panel lr{"learning rate", {}, true, 120};
  for (const auto& run : runs) {
    std::vector<double> x;
    std::vector<double> y;
    for (const auto& record : run.metrics.iterations) {
      x.push_back(record.wall_seconds / scale);
      y.push_back(record.loss);
    }
    loss.series.push_back(binned(prefixed(runs, run, "loss"), x, y));
    accuracy.series.push_back(validation_series(runs, run, false, true, scale));
    if (run.shows_top5())
      accuracy.series.push_back(validation_series(runs, run, true, true, scale));
    batch.series.push_back(recorded_steps(
        prefixed(runs, run, "global batch"), run.metrics.iterations, scale,
        [](const iteration_metrics& record) { return double(record.shape.global_batch); }));
    lr.series.push_back(recorded_steps(prefixed(runs, run, "learning rate"), run.metrics.iterations,
                                       scale,
                                       [](const iteration_metrics& record) { return record.lr; }));
  }
  figure.panels = {loss, accuracy, batch, lr};
  style_by_run(figure, runs);
  return figure;
}

std::string stack_svg_documents(const std::vector<std::string>& documents) {
  double width = 0;
  double height = 0;
  std::string body;
  for (const auto& document : documents) {
    const auto begin = document.find("<svg ");
    const auto tag_end = document.find('>', begin);
    if (begin == std::string::npos || tag_end == std::string::npos) continue;
    const auto tag = document.substr(begin, tag_end - begin);
    const double document_width = std::atof(svg_attribute(tag, "width").c_str());
    const double document_height = std::atof(svg_attribute(tag, "height").c_str());
    body += "<svg y=\"" + format_text("%.2f", height) + "\" " + document.substr(begin + 5);
    if (body.back() != '\n') body += '\n';
    width = std::max(width, document_width);
    height += document_height;
  }
  const auto w = format_text("%.2f", width);
  const auto h = format_text("%.2f", height);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h +
         "\" viewBox=\"0 0 " + w + " " + h + "\">\n" + body + "</svg>\n";
}

std::string run_report_svg(const std::vector<run_record>& runs) {
  return stack_svg_documents({render_svg(run_epoch_chart(runs)), render_svg(run_time_chart(runs))});
}

std::string run_summary_table(const std::vector<run_record>& runs) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %7s %10s %10s %9s %8s %15s %22s\n", "run", "epochs",
                "iterations", "wall-clock", "clips/s", "loss", "val top-1/top-5",
                "test top-1/top-5 (views)");
  out << line;
  for (const auto& run : runs) {
    const auto& metrics = run.metrics;
    double wall = 0;
    double clips = 0;
    double seconds = 0;
    for (const auto& epoch : metrics.epochs) {
      clips += epoch.clips_per_second * epoch.epoch_seconds;
      seconds += epoch.epoch_seconds;
      wall = std::max(wall, epoch.wall_seconds);
    }
    for (const auto& record : metrics.iterations) wall = std::max(wall, record.wall_seconds);
    for (const auto& record : metrics.evaluations) wall = std::max(wall, record.wall_seconds);
    const std::string epochs =
        metrics.epochs.empty() ? "0" : std::to_string(metrics.epochs.back().epoch + 1);
    const std::string iterations =
        metrics.iterations.empty() ? "0"
                                   : std::to_string(metrics.iterations.back().global_iteration + 1);
    const std::string loss =
        metrics.epochs.empty() ? "-" : format_text("%.4f", metrics.epochs.back().loss);
    const std::string rate = seconds > 0 ? format_text("%.1f", clips / seconds) : "-";
    std::string validation = "-";
    std::string test = "-";
    for (const auto& record : metrics.evaluations) {
      const auto text = format_text("%.2f", record.top1) + "/" +
                        (run.shows_top5() ? format_text("%.2f", record.top5) : "-");
      if (record.split == "val") validation = text;
      if (record.split == "test") test = text + " (" + std::to_string(record.views) + ")";
    }
    std::snprintf(line, sizeof line, "%-20s %7s %10s %10s %9s %8s %15s %22s\n", run.label.c_str(),
                  epochs.c_str(), iterations.c_str(), duration_text(wall).c_str(), rate.c_str(),
                  loss.c_str(), validation.c_str(), test.c_str());
    out << line;
  }
  return out.str();
}

void write_run_report(const std::vector<run_record>& runs, const std::string& svg_path) {
  write_file_atomically(svg_path, run_report_svg(runs));
}

}  // namespace multigrid::reference
