#pragma once
// The order in which the emulated CUDA runtime (cuda_runtime.h here) runs a launch's blocks, and
// a block's threads between two barriers. A test runs each launch in both: a read of shared memory
// that lacks its barrier, or a read of what another block writes, gives different results.

namespace cuda_emulation {

enum class run_order { ascending, descending };

inline run_order order = run_order::ascending;

/// Sets the order for as long as it lives.
class scoped_order {
 public:
  explicit scoped_order(run_order o) : previous_(order) { order = o; }
  ~scoped_order() { order = previous_; }
  scoped_order(const scoped_order&) = delete;
  scoped_order& operator=(const scoped_order&) = delete;

 private:
  run_order previous_;
};

}  // namespace cuda_emulation
