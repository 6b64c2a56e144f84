#pragma once
// Runs a program as the tests' user would, capturing its exit status and output.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
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

/// A program started in the background; its output goes to files read when it ends.
class background_process {
 public:
  /// Starts `program` with `arguments` and, added to this process's environment, `environment`
  /// ("NAME=value" entries).
  background_process(const std::string& program, const std::vector<std::string>& arguments,
                     const std::vector<std::string>& environment = {}) {
    char out_template[] = "/tmp/multigrid-test-out-XXXXXX";
    char err_template[] = "/tmp/multigrid-test-err-XXXXXX";
    const int out_fd = ::mkstemp(out_template);
    const int err_fd = ::mkstemp(err_template);
    if (out_fd < 0 || err_fd < 0) throw std::runtime_error("cannot create temporary files");
    out_path_ = out_template;
    err_path_ = err_template;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out_fd, STDOUT_FILENO);
      ::dup2(err_fd, STDERR_FILENO);
      for (const auto& entry : environment) ::putenv(const_cast<char*>(entry.c_str()));
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(program.c_str()));
      for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
      argv.push_back(nullptr);
      ::execv(program.c_str(), argv.data());
      std::perror(program.c_str());
      ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
  }
  ~background_process() {
    if (!finished_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    ::unlink(out_path_.c_str());
    ::unlink(err_path_.c_str());
  }
  background_process(const background_process&) = delete;
  background_process& operator=(const background_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  void signal(int number) const { ::kill(pid_, number); }

  /// Waits for the end, at most `seconds`; returns false (the process still runs) on timeout.
  bool wait(double seconds) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(seconds));
    while (!finished_) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        finished_ = true;
        result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        result_.out = read_whole_file(out_path_);
        result_.err = read_whole_file(err_path_);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) return false;
      ::usleep(20000);
    }
    return true;
  }
  /// The status and output, after wait() returned true.
  const process_result& result() const noexcept { return result_; }

 private:
  pid_t pid_ = -1;
  bool finished_ = false;
  std::string out_path_;
  std::string err_path_;
  process_result result_;
};

/// Runs `program` with `arguments` (no shell), waits, and returns its status and output.
inline process_result run_process(const std::string& program,
                                  const std::vector<std::string>& arguments) {
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
    if (std::system(command.c_str()) != 0)
      std::fprintf(stderr, "could not remove %s\n", path_.c_str());
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
