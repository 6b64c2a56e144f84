#pragma once
// Runs a program as the tests' user would, capturing its exit status and output.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace multigrid::testing {

struct process_result {
  int exit_code = -1;  ///< the exit status, or 128 + signal when killed by one
  std::string out;
  std::string err;
};

inline std::string read_whole_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

/// Runs `program` with `arguments` (no shell), waits, and returns its status and output.
inline process_result run_process(const std::string& program, const std::vector<std::string>& arguments) {
  char out_template[] = "/tmp/multigrid-test-out-XXXXXX";
  char err_template[] = "/tmp/multigrid-test-err-XXXXXX";
  const int out_fd = ::mkstemp(out_template);
  const int err_fd = ::mkstemp(err_template);
  if (out_fd < 0 || err_fd < 0) throw std::runtime_error("cannot create temporary files");
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    std::perror(program.c_str());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(out_fd);
  ::close(err_fd);
  process_result result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_whole_file(out_template);
  result.err = read_whole_file(err_template);
  ::unlink(out_template);
  ::unlink(err_template);
  return result;
}

/// A fresh directory under the system's temporary folder, removed with its contents at scope exit.
class temporary_directory {
 public:
  temporary_directory() {
    char path_template[] = "/tmp/multigrid-test-XXXXXX";
    if (::mkdtemp(path_template) == nullptr) throw std::runtime_error("cannot create a directory");
    path_ = path_template;
  }
  ~temporary_directory() {
    const std::string command = "rm -rf '" + path_ + "'";
    if (std::system(command.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path_.c_str());
  }
  temporary_directory(const temporary_directory&) = delete;
  temporary_directory& operator=(const temporary_directory&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
}

}  // namespace multigrid::testing
