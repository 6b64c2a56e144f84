#pragma once
// The content of a synthetic video, drawn frame by frame. In a motion scene, a few shapes
// (ellipses, rectangles, triangles; random colours, sizes and places on a static gradient
// background) all move the same way, and the way they move is the class: translation in a
// direction, rotation either way, growth or shrinkage, at two speeds. Appearance is drawn from the
// seed before the class is looked at, so no single frame tells the classes apart: only motion does.
// Shapes wrap around the frame's edges, so every clip shows the motion.
//
// A scene_style varies the family: how many shapes and how large, a flat background instead of the
// gradient, per-frame pixel noise, and one colour scheme shared by every video (so that colour
// cannot tell the training videos apart) instead of one drawn per video.
//
// A frame-code scene instead fills frame i with frame_code_colour(i) (see frame_code.hpp), with a
// dark band along the top and a light band along the left edge to check rotation and flips.

#include <cstdint>
#include <string>
#include <vector>

#include "data/random_stream.hpp"

namespace multigrid::reference {

struct motion_class {
  enum class kind { translation, rotation, scaling, still };
  std::string name;
  kind motion = kind::translation;
  double direction_degrees = 0;  ///< translation: 0 = right, 90 = up
  double sign = 1;               ///< rotation: +1 clockwise; scaling: +1 growing
  double speed = 1;              ///< relative speed (1 normal, 2.5 fast)
};

/// The catalogue of motion classes, in the order `--classes N` takes them (the most distinct
/// first); at most motion_classes().size().
const std::vector<motion_class>& motion_classes();

/// Index of a class of the catalogue by name; throws std::invalid_argument naming it otherwise.
int motion_class_index(const std::string& name);

/// How a motion scene looks, apart from its class. The defaults are the demo's scenes.
struct scene_style {
  int min_objects = 5;  ///< shapes per video, drawn uniformly in [min, max]
  int max_objects = 8;
  double min_object_size = 0.15;  ///< half extent relative to the frame's short side
  double max_object_size = 0.3;
  bool flat_background = false;  ///< one colour instead of a two-colour gradient
  double noise = 0;              ///< per-pixel, per-frame noise amplitude, grey levels
  bool shared_colours = false;   ///< every video draws its colours from the same seed
};

/// Throws std::invalid_argument naming the field that is out of range.
void check_scene_style(const scene_style& style);

enum class scene_content { motion, frame_code };

struct shape_appearance;

class synthetic_scene {
 public:
  synthetic_scene(scene_content content, const motion_class& motion, int width, int height,
                  double fps, std::uint64_t seed, const scene_style& style = {});
  ~synthetic_scene();
  synthetic_scene(synthetic_scene&&) noexcept;
  synthetic_scene& operator=(synthetic_scene&&) noexcept;

  /// Draws frame `index` as packed RGB (`stride` bytes per row).
  void render(int index, std::uint8_t* rgb, int stride) const;

 private:
  void render_motion(int index, std::uint8_t* rgb, int stride) const;
  void render_frame_code(int index, std::uint8_t* rgb, int stride) const;

  scene_content content_;
  motion_class motion_;
  int width_;
  int height_;
  double fps_;
  double speed_jitter_ = 1;
  double noise_ = 0;
  std::uint64_t noise_seed_ = 0;
  std::uint8_t background_[2][3] = {};
  double gradient_angle_ = 0;
  std::vector<shape_appearance> shapes_;
};

}  // namespace multigrid::reference
