#include "report/svg_chart.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

using namespace multigrid::reference;

namespace {
std::size_t count(const std::string& text, const std::string& part) {
  std::size_t found = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++found;
  return found;
}
}  // namespace

TEST_CASE("A chart renders one polyline per series and escapes its text") {
  chart figure;
  figure.title = "loss & <accuracy>";
  figure.x_label = "epoch";
  figure.panels.push_back(
      {"loss",
       {{"train", {0, 1, 2}, {3, 2, 1}, false, ""}, {"val", {0, 2}, {3.5, 1.5}, false, ""}},
       false,
       100});
  figure.panels.push_back({"lr", {{"lr", {0, 1, 2}, {0.1, 0.01, 0.001}, true, ""}}, true, 100});
  figure.x_marks = {1};
  const auto svg = render_svg(figure);
  CHECK(count(svg, "<polyline") == 3);
  CHECK(svg.find("loss &amp; &lt;accuracy&gt;") != std::string::npos);
  CHECK(svg.find("<accuracy>") == std::string::npos);
  CHECK(count(svg, "stroke-dasharray") == 2);  // the mark crosses both panels
}

TEST_CASE("A step series holds each value until the next x") {
  chart figure;
  figure.panels.push_back({"batch", {{"batch", {0, 10}, {8, 4}, true, "#000"}}, false, 100});
  const auto svg = render_svg(figure);
  // Points: (0,8) then (10,8) (the hold) then (10,4).
  const auto points = svg.substr(svg.find("points=\""));
  CHECK(count(points.substr(0, points.find("\"/>")), ",") == 3);
}

TEST_CASE("Non-finite values and empty charts do not break the document") {
  chart figure;
  figure.panels.push_back({"y", {{"s", {0, 1, 2}, {1, std::nan(""), 3}, false, ""}}, true, 100});
  figure.panels.push_back({"empty", {}, false, 100});
  const auto svg = render_svg(figure);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
}
