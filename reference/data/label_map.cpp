#include "data/label_map.hpp"

#include <fstream>
#include <set>

#include "data/dataset_error.hpp"

namespace multigrid::reference {

std::vector<std::string> read_label_map(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw dataset_error(path + ": cannot read the label map");
  std::vector<std::string> names;
  std::set<std::string> seen;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      // A trailing empty line is common; an empty line between names would shift every label.
      if (in.peek() == std::ifstream::traits_type::eof()) break;
      throw dataset_error(path + ":" + std::to_string(number) + ": empty class name");
    }
    if (!seen.insert(line).second) {
      throw dataset_error(path + ":" + std::to_string(number) + ": class `" + line +
                          "` is named twice");
    }
    names.push_back(line);
  }
  if (names.empty()) throw dataset_error(path + ": the label map names no class");
  return names;
}

std::string label_map_text(const std::vector<std::string>& class_names) {
  std::string text;
  for (const auto& name : class_names) text += name + "\n";
  return text;
}

}  // namespace multigrid::reference
