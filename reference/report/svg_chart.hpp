#pragma once
// Small SVG charts without dependencies: vertically stacked panels sharing one x axis, each with
// line or step series. The schedule tool plots batch, frames, crop and LR over epochs with it; the
// trainer's report plots loss and accuracy over time above the schedule.

#include <cstddef>
#include <string>
#include <vector>

namespace multigrid::reference {

struct chart_series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  bool step = false;  ///< y holds from x[i] until x[i + 1] (schedules), else straight lines
  std::string color;  ///< empty: taken from the palette
  bool dashed = false;
  /// Pixels. Series that may coincide (the same curve of two runs) get different widths, the
  /// widest drawn first, so that each stays visible.
  double width = 1.5;
  enum class mark { none, circle, square, triangle } marker = mark::none;  ///< at every point
};

struct chart_panel {
  std::string y_label;
  std::vector<chart_series> series;
  bool log_y = false;
  double height = 140;  ///< pixels
  /// Fit the y axis to where the curves start (a training loss starts near its highest): values
  /// above outlier_clip_limit, which only a diverging run reaches, are drawn at the top edge and a
  /// note in the panel says where it was cut, so that one such run does not flatten the others.
  bool clip_outliers = false;
};

struct chart {
  std::string title;
  std::string subtitle;  ///< a smaller line under the title (the runs' final accuracies)
  std::string x_label;
  std::vector<chart_panel> panels;
  std::vector<double> x_marks;  ///< dashed vertical lines across all panels (stage changes)
  double width = 960;           ///< pixels
};

/// The top of a clipped axis: 1.25 times the highest start among the series (a series' start:
/// the largest of its first twentieth of finite values, at least its first value), when some value
/// lies above that; NaN when none does.
double outlier_clip_limit(const std::vector<std::vector<double>>& series);

/// The chart as a standalone SVG document.
std::string render_svg(const chart& figure);

/// The palette's colour for series (or run) number `index`.
std::string chart_color(std::size_t index);

/// Escapes text for use inside SVG/XML.
std::string escape_xml(const std::string& text);

}  // namespace multigrid::reference
