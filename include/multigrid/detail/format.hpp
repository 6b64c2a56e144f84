#pragma once
// Number formatting for error messages: the shortest text that reads back as the same value, the
// way Python prints it, so a message quotes exactly what the user wrote.

#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

namespace multigrid::detail {

inline std::string format_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

inline std::string format_number(int value) {
  return std::to_string(value);
}

template <class Number>
std::string format_list(const std::vector<Number>& values) {
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ", ";
    text += format_number(values[i]);
  }
  return text + "]";
}

template <class Number, std::size_t N>
std::string format_list(const std::array<Number, N>& values) {
  return format_list(std::vector<Number>(values.begin(), values.end()));
}

}  // namespace multigrid::detail
