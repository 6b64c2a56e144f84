#include "report/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace multigrid::reference {
namespace {

const char* const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

constexpr double left_margin = 80;
constexpr double right_margin = 210;  // room for legends such as "multigrid: learning rate"
constexpr double top_margin = 40;
constexpr double panel_gap = 30;
constexpr double bottom_margin = 50;

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  return buffer;
}

std::string tick_label(double value) {
  char buffer[32];
  const double magnitude = std::fabs(value);
  if (value == 0) return "0";
  if (magnitude >= 1e5 || magnitude < 1e-3) {
    std::snprintf(buffer, sizeof buffer, "%.0e", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%g", value);
  }
  return buffer;
}

// Round tick spacing: 1, 2 or 5 times a power of ten, about `count` ticks over the range.
std::vector<double> nice_ticks(double low, double high, int count) {
  std::vector<double> ticks;
  if (!(high > low)) return {low};
  const double raw = (high - low) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double multiple : {1.0, 2.0, 5.0, 10.0}) {
    step = multiple * power;
    if (step >= raw) break;
  }
  for (double tick = std::ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) {
    ticks.push_back(std::fabs(tick) < step * 1e-9 ? 0.0 : tick);
  }
  return ticks;
}

struct range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  void add(double value) {
    if (!std::isfinite(value)) return;
    low = std::min(low, value);
    high = std::max(high, value);
  }
  bool valid() const { return low <= high; }
};

}  // namespace

std::string escape_xml(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string chart_color(std::size_t index) {
  return palette[index % (sizeof palette / sizeof *palette)];
}

double outlier_clip_limit(const std::vector<std::vector<double>>& series) {
  double highest_start = -std::numeric_limits<double>::infinity();
  double largest = -std::numeric_limits<double>::infinity();
  for (const auto& values : series) {
    std::vector<double> finite;
    for (double value : values) {
      if (std::isfinite(value)) finite.push_back(value);
    }
    if (finite.empty()) continue;
    const std::size_t start_points = std::max<std::size_t>(1, finite.size() / 20);
    highest_start =
        std::max(highest_start, *std::max_element(finite.begin(), finite.begin() + start_points));
    largest = std::max(largest, *std::max_element(finite.begin(), finite.end()));
  }
  constexpr double headroom = 1.25;  // a warm-up's bump above the start stays in view
  const double limit = headroom * highest_start;
  if (!std::isfinite(limit) || !(largest > limit)) return NAN;
  return limit;
}

namespace {

// Markers grow with their series' line, so that a wider series' marks show around a thinner one's.
void draw_marker(std::ostringstream& svg, chart_series::mark marker, double x, double y,
                 const std::string& color, double line_width) {
  const double r = 2 + line_width / 2;
  switch (marker) {
    case chart_series::mark::none:
      return;
    case chart_series::mark::circle:
      svg << "<circle cx=\"" << number(x) << "\" cy=\"" << number(y) << "\" r=\"" << number(r)
          << "\" fill=\"" << color << "\"/>\n";
      return;
    case chart_series::mark::square:
      svg << "<rect x=\"" << number(x - r) << "\" y=\"" << number(y - r) << "\" width=\""
          << number(2 * r) << "\" height=\"" << number(2 * r) << "\" fill=\"white\" stroke=\""
          << color << "\" stroke-width=\"1.5\"/>\n";
      return;
    case chart_series::mark::triangle:
      svg << "<polygon points=\"" << number(x) << ',' << number(y - 1.3 * r) << ' '
          << number(x - 1.3 * r) << ',' << number(y + r) << ' ' << number(x + 1.3 * r) << ','
          << number(y + r) << "\" fill=\"white\" stroke=\"" << color
          << "\" stroke-width=\"1.5\"/>\n";
      return;
  }
}

}  // namespace

std::string render_svg(const chart& figure) {
  range x_range;
  for (const auto& panel : figure.panels) {
    for (const auto& series : panel.series) {
      for (double x : series.x) x_range.add(x);
    }
  }
  if (!x_range.valid()) x_range = {0, 1};
  if (x_range.high == x_range.low) x_range.high = x_range.low + 1;

  const double panels_top = top_margin + (figure.subtitle.empty() ? 0 : 16);
  double height = panels_top + bottom_margin;
  for (const auto& panel : figure.panels) height += panel.height + panel_gap;
  const double plot_width = figure.width - left_margin - right_margin;
  auto to_x = [&](double x) {
    return left_margin + (x - x_range.low) / (x_range.high - x_range.low) * plot_width;
  };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << number(figure.width)
      << "\" height=\"" << number(height) << "\" viewBox=\"0 0 " << number(figure.width) << ' '
      << number(height) << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"" << number(figure.width / 2) << "\" y=\"24\" text-anchor=\"middle\" "
      << "font-size=\"16\">" << escape_xml(figure.title) << "</text>\n";
  if (!figure.subtitle.empty()) {
    svg << "<text x=\"" << number(figure.width / 2) << "\" y=\"42\" text-anchor=\"middle\">"
        << escape_xml(figure.subtitle) << "</text>\n";
  }

  double top = panels_top;
  for (std::size_t p = 0; p < figure.panels.size(); ++p) {
    const auto& panel = figure.panels[p];
    double clip_at = std::numeric_limits<double>::infinity();
    if (panel.clip_outliers && !panel.log_y) {
      std::vector<std::vector<double>> values;
      for (const auto& series : panel.series) values.push_back(series.y);
      const double limit = outlier_clip_limit(values);
      if (std::isfinite(limit)) clip_at = limit;
    }
    range y_range;
    for (const auto& series : panel.series) {
      for (double y : series.y) {
        if (!panel.log_y || y > 0) y_range.add(panel.log_y ? std::log10(y) : std::min(y, clip_at));
      }
    }
    if (!y_range.valid()) y_range = {0, 1};
    if (!panel.log_y) y_range.low = std::min(y_range.low, 0.0);
    if (y_range.high == y_range.low) y_range.high = y_range.low + 1;
    const double pad = (y_range.high - y_range.low) * 0.05;
    y_range.high += pad;
    if (panel.log_y) y_range.low -= pad;
    const double bottom = top + panel.height;
    auto to_y = [&](double y) {
      const double value = panel.log_y ? std::log10(std::max(y, 1e-300)) : std::min(y, clip_at);
      return bottom - (value - y_range.low) / (y_range.high - y_range.low) * panel.height;
    };

    svg << "<rect x=\"" << number(left_margin) << "\" y=\"" << number(top) << "\" width=\""
        << number(plot_width) << "\" height=\"" << number(panel.height)
        << "\" fill=\"none\" stroke=\"#888\"/>\n";
    // y ticks
    if (panel.log_y) {
      for (int exponent = static_cast<int>(std::ceil(y_range.low));
           exponent <= static_cast<int>(std::floor(y_range.high)); ++exponent) {
        const double y = to_y(std::pow(10.0, exponent));
        svg << "<line x1=\"" << number(left_margin - 4) << "\" x2=\"" << number(left_margin)
            << "\" y1=\"" << number(y) << "\" y2=\"" << number(y) << "\" stroke=\"#888\"/>\n";
        svg << "<text x=\"" << number(left_margin - 6) << "\" y=\"" << number(y + 4)
            << "\" text-anchor=\"end\">" << tick_label(std::pow(10.0, exponent)) << "</text>\n";
      }
    } else {
      for (double tick : nice_ticks(y_range.low, y_range.high, 4)) {
        const double y = to_y(tick);
        svg << "<line x1=\"" << number(left_margin) << "\" x2=\""
            << number(left_margin + plot_width) << "\" y1=\"" << number(y) << "\" y2=\""
            << number(y) << "\" stroke=\"#eee\"/>\n";
        svg << "<text x=\"" << number(left_margin - 6) << "\" y=\"" << number(y + 4)
            << "\" text-anchor=\"end\">" << tick_label(tick) << "</text>\n";
      }
    }
    svg << "<text transform=\"translate(16," << number((top + bottom) / 2)
        << ") rotate(-90)\" text-anchor=\"middle\">" << escape_xml(panel.y_label) << "</text>\n";
    if (std::isfinite(clip_at)) {
      // Top right: a training loss is lowest there, so the note rarely covers a curve.
      char limit[32];
      std::snprintf(limit, sizeof limit, "%.3g", clip_at);
      svg << "<text x=\"" << number(left_margin + plot_width - 6) << "\" y=\"" << number(top + 14)
          << "\" text-anchor=\"end\" fill=\"#555\">values above " << limit
          << " drawn at the top edge</text>\n";
    }

    for (double mark : figure.x_marks) {
      const double x = to_x(mark);
      svg << "<line x1=\"" << number(x) << "\" x2=\"" << number(x) << "\" y1=\"" << number(top)
          << "\" y2=\"" << number(bottom) << "\" stroke=\"#bbb\" stroke-dasharray=\"3,3\"/>\n";
    }

    for (std::size_t s = 0; s < panel.series.size(); ++s) {
      const auto& series = panel.series[s];
      const std::string color = series.color.empty() ? chart_color(s) : series.color;
      const char* dash = series.dashed ? " stroke-dasharray=\"6,3\"" : "";
      std::ostringstream points;
      const std::size_t count = std::min(series.x.size(), series.y.size());
      for (std::size_t i = 0; i < count; ++i) {
        if (!std::isfinite(series.y[i]) || (panel.log_y && series.y[i] <= 0)) continue;
        const double x = to_x(series.x[i]);
        const double y = to_y(series.y[i]);
        if (series.step && i > 0 && std::isfinite(series.y[i - 1])) {
          points << number(x) << ',' << number(to_y(series.y[i - 1])) << ' ';
        }
        points << number(x) << ',' << number(y) << ' ';
      }
      svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\""
          << number(series.width) << "\"" << dash << " points=\"" << points.str() << "\"/>\n";
      for (std::size_t i = 0; i < count && series.marker != chart_series::mark::none; ++i) {
        if (!std::isfinite(series.y[i]) || (panel.log_y && series.y[i] <= 0)) continue;
        draw_marker(svg, series.marker, to_x(series.x[i]), to_y(series.y[i]), color, series.width);
      }
      const double legend_y = top + 16 + 16 * static_cast<double>(s);
      svg << "<line x1=\"" << number(left_margin + plot_width + 10) << "\" x2=\""
          << number(left_margin + plot_width + 28) << "\" y1=\"" << number(legend_y - 4)
          << "\" y2=\"" << number(legend_y - 4) << "\" stroke=\"" << color << "\" stroke-width=\""
          << number(std::max(2.0, series.width)) << "\"" << dash << "/>\n";
      draw_marker(svg, series.marker, left_margin + plot_width + 19, legend_y - 4, color, 1.5);
      svg << "<text x=\"" << number(left_margin + plot_width + 32) << "\" y=\"" << number(legend_y)
          << "\">" << escape_xml(series.label) << "</text>\n";
    }

    const bool last = p + 1 == figure.panels.size();
    for (double tick : nice_ticks(x_range.low, x_range.high, 8)) {
      const double x = to_x(tick);
      svg << "<line x1=\"" << number(x) << "\" x2=\"" << number(x) << "\" y1=\"" << number(bottom)
          << "\" y2=\"" << number(bottom + 4) << "\" stroke=\"#888\"/>\n";
      if (last) {
        svg << "<text x=\"" << number(x) << "\" y=\"" << number(bottom + 18)
            << "\" text-anchor=\"middle\">" << tick_label(tick) << "</text>\n";
      }
    }
    if (last) {
      svg << "<text x=\"" << number(left_margin + plot_width / 2) << "\" y=\""
          << number(bottom + 38) << "\" text-anchor=\"middle\">" << escape_xml(figure.x_label)
          << "</text>\n";
    }
    top = bottom + panel_gap;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace multigrid::reference
