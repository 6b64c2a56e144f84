#pragma once
// Names and text read from a file go into error messages; a crafted file may put anything there,
// from terminal escapes to megabytes. Messages show them shortened, other bytes as '?'.

#include <cstddef>
#include <string>
#include <string_view>

namespace multigrid::reference {

inline std::string printable_text(std::string_view text, std::size_t limit = 100) {
  std::string out;
  for (const char c : text.substr(0, limit)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace multigrid::reference
