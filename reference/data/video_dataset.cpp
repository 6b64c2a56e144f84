#include "data/video_dataset.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/dataset_error.hpp"
#include "data/label_map.hpp"

namespace multigrid::reference {
namespace {

namespace fs = std::filesystem;

/// A malformed line: an error, or a warning and a skip.
class line_problems {
 public:
  line_problems(const std::string& file, const annotation_options& options)
      : file_(file), options_(options) {}

  void report(int line, const std::string& message) const {
    const std::string text = file_ + ":" + std::to_string(line) + ": " + message;
    if (!options_.skip_malformed_lines) throw dataset_error(text);
    if (options_.warn) {
      options_.warn(text + " (line skipped)");
    } else {
      std::fprintf(stderr, "warning: %s (line skipped)\n", text.c_str());
    }
  }

 private:
  const std::string& file_;
  const annotation_options& options_;
};

std::string trim(const std::string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

bool parse_label(const std::string& text, int& label) {
  if (text.empty()) return false;
  std::size_t used = 0;
  try {
    const long value = std::stol(text, &used);
    if (used != text.size() || value < 0 || value > 1'000'000'000) return false;
    label = static_cast<int>(value);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool parse_integer(const std::string& text, long& value) {
  std::size_t used = 0;
  try {
    value = std::stol(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::string> split_exact(const std::string& line, const std::string& separator) {
  std::vector<std::string> fields;
  std::size_t begin = 0;
  while (true) {
    const auto at = line.find(separator, begin);
    if (at == std::string::npos) {
      fields.push_back(line.substr(begin));
      return fields;
    }
    fields.push_back(line.substr(begin, at - begin));
    begin = at + separator.size();
  }
}

std::vector<std::string> split_whitespace(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const std::size_t begin = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > begin) fields.push_back(line.substr(begin, i - begin));
  }
  return fields;
}

/// One CSV record: commas separate fields, double quotes protect commas, "" is a quote.
bool split_csv(const std::string& line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(field);
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(field);
  return !quoted;
}

std::string join_path(const std::string& root, const std::string& path) {
  if (root.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(root) / path).string();
}

struct raw_line {
  int number = 0;
  std::string text;
};

std::vector<raw_line> read_lines(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw dataset_error(file + ": cannot read the annotation file");
  std::vector<raw_line> lines;
  std::string text;
  int number = 0;
  while (std::getline(in, text)) {
    ++number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (trim(text).empty()) continue;
    lines.push_back({number, text});
  }
  return lines;
}

void read_path_label_lines(const std::string& file, const std::vector<raw_line>& lines,
                           const annotation_options& options, bool whitespace,
                           const std::string& root, std::vector<video_sample>& samples) {
  const line_problems problems(file, options);
  for (const auto& line : lines) {
    const auto fields =
        whitespace ? split_whitespace(line.text) : split_exact(line.text, options.separator);
    std::string path;
    int label = 0;
    bool ok = false;
    if (whitespace) {
      ok = fields.size() == 2 && parse_label(fields[1], label);
      path = fields.empty() ? std::string() : fields[0];
    } else if (fields.size() == 1) {
      // PySlowFast reads a lone path as label 0.
      path = fields[0];
      ok = true;
    } else if (fields.size() == 2 || fields.size() == 3) {
      path = fields[0];
      ok = parse_label(fields.back(), label);
    }
    if (!ok || trim(path).empty()) {
      const std::string expected = whitespace
                                       ? "`relative/path label` separated by white space"
                                       : "`path label` separated by `" + options.separator + "`";
      problems.report(line.number, "expected " + expected + ", found `" + line.text + "`");
      continue;
    }
    samples.push_back({join_path(root, path), label, file + ":" + std::to_string(line.number)});
  }
}

std::string underscored(std::string name) {
  std::replace(name.begin(), name.end(), ' ', '_');
  return name;
}

void read_kinetics_csv(const std::string& file, const std::vector<raw_line>& lines,
                       const annotation_options& options, const std::string& root,
                       std::vector<video_sample>& samples, std::vector<std::string>& class_names) {
  const line_problems problems(file, options);
  if (lines.empty()) throw dataset_error(file + ": empty Kinetics CSV (no header)");
  std::vector<std::string> header;
  split_csv(lines.front().text, header);
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < header.size(); ++i) column[trim(header[i])] = i;
  for (const char* required : {"youtube_id", "time_start", "time_end"}) {
    if (!column.count(required)) {
      throw dataset_error(file + ":" + std::to_string(lines.front().number) +
                          ": the Kinetics header has no `" + required + "` column");
    }
  }
  const bool labelled = column.count("label") > 0;

  struct row {
    int line;
    std::string label, youtube_id;
    long start, end;
  };
  std::vector<row> rows;
  std::vector<std::string> fields;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (!split_csv(line.text, fields)) {
      problems.report(line.number, "unterminated quote in `" + line.text + "`");
      continue;
    }
    if (fields.size() != header.size()) {
      problems.report(line.number, "expected " + std::to_string(header.size()) +
                                       " comma-separated fields as in the header, found " +
                                       std::to_string(fields.size()) + " in `" + line.text + "`");
      continue;
    }
    row r{line.number, labelled ? trim(fields[column["label"]]) : std::string(),
          trim(fields[column["youtube_id"]]), 0, 0};
    if (r.youtube_id.empty() || (labelled && r.label.empty()) ||
        !parse_integer(trim(fields[column["time_start"]]), r.start) ||
        !parse_integer(trim(fields[column["time_end"]]), r.end) || r.start < 0 || r.end < r.start) {
      problems.report(line.number,
                      "expected label,youtube_id,time_start,time_end with whole "
                      "seconds, found `" +
                          line.text + "`");
      continue;
    }
    rows.push_back(r);
  }

  if (class_names.empty() && labelled) {
    std::set<std::string> names;
    for (const auto& r : rows) names.insert(r.label);
    class_names.assign(names.begin(), names.end());  // Kinetics' alphabetical order
  }
  std::map<std::string, int> label_of;
  for (std::size_t i = 0; i < class_names.size(); ++i)
    label_of[class_names[i]] = static_cast<int>(i);
  // The public downloader names folders after the class as written; some copies replace spaces
  // with underscores. Take whichever exists. A name the system cannot look up (longer than a file
  // name may be) names no folder; its videos then fail to open with their paths.
  std::map<std::string, std::string> folder_of;
  const auto exists = [](const fs::path& path) {
    std::error_code unusable;
    return fs::exists(path, unusable);
  };
  const auto folder = [&](const std::string& label) {
    auto found = folder_of.find(label);
    if (found != folder_of.end()) return found->second;
    std::string name = label;
    if (!exists(fs::path(root) / name) && exists(fs::path(root) / underscored(name))) {
      name = underscored(name);
    }
    return folder_of[label] = name;
  };
  char times[32];
  for (const auto& r : rows) {
    int label = 0;
    std::string directory = "test";  // where the downloader puts unlabelled videos
    if (labelled) {
      const auto found = label_of.find(r.label);
      if (found == label_of.end()) {
        problems.report(r.line, "class `" + r.label + "` is not in the label map");
        continue;
      }
      label = found->second;
      directory = folder(r.label);
    }
    std::snprintf(times, sizeof times, "_%06ld_%06ld.mp4", r.start, r.end);
    const auto path = (fs::path(root) / directory / (r.youtube_id + times)).string();
    samples.push_back({path, label, file + ":" + std::to_string(r.line)});
  }
}

}  // namespace

video_dataset::video_dataset(std::vector<video_sample> samples,
                             std::vector<std::string> class_names, std::string source)
    : samples_(std::move(samples)),
      class_names_(std::move(class_names)),
      source_(std::move(source)) {}

int video_dataset::num_classes() const noexcept {
  if (!class_names_.empty()) return static_cast<int>(class_names_.size());
  int largest = -1;
  for (const auto& sample : samples_) largest = std::max(largest, sample.label);
  return largest + 1;
}

std::string video_dataset::class_name(int label) const {
  if (label >= 0 && label < static_cast<int>(class_names_.size())) {
    return class_names_[static_cast<std::size_t>(label)];
  }
  return std::to_string(label);
}

video_dataset video_dataset::load(const std::string& annotation_file,
                                  const annotation_options& options) {
  const auto lines = read_lines(annotation_file);
  auto format = options.format;
  if (format == annotation_format::automatic) {
    format = detect_annotation_format(lines.empty() ? std::string() : lines.front().text);
  }
  std::vector<std::string> class_names = options.class_names;
  if (class_names.empty() && !options.label_map_file.empty()) {
    class_names = read_label_map(options.label_map_file);
  }
  const std::string root = !options.path_prefix.empty()
                               ? options.path_prefix
                               : fs::path(annotation_file).parent_path().string();
  std::vector<video_sample> samples;
  switch (format) {
    case annotation_format::kinetics:
      read_kinetics_csv(annotation_file, lines, options, root, samples, class_names);
      break;
    case annotation_format::mmaction2:
      read_path_label_lines(annotation_file, lines, options, true, root, samples);
      break;
    case annotation_format::pyslowfast:
    case annotation_format::automatic:
      if (options.separator.empty()) {
        throw dataset_error("DATA.PATH_LABEL_SEPARATOR must not be empty");
      }
      read_path_label_lines(annotation_file, lines, options, false, root, samples);
      break;
  }
  if (!class_names.empty()) {
    const line_problems problems(annotation_file, options);
    std::vector<video_sample> known;
    for (auto& sample : samples) {
      if (sample.label >= static_cast<int>(class_names.size())) {
        const auto line = std::stoi(sample.origin.substr(sample.origin.rfind(':') + 1));
        problems.report(line, "label " + std::to_string(sample.label) + " is beyond the " +
                                  std::to_string(class_names.size()) + " classes of the label map");
        continue;
      }
      known.push_back(std::move(sample));
    }
    samples = std::move(known);
  }
  if (samples.empty()) throw dataset_error(annotation_file + ": no videos listed");
  return video_dataset(std::move(samples), std::move(class_names), annotation_file);
}

}  // namespace multigrid::reference
