// File: thumbnail.h
//
// Thumbnails that protect the people who look at them (issue 4): by default
// every thumbnail custos shows is greyscale and blurred so that a person can
// tell what kind of picture it is without seeing the abuse in it. The
// unblurred original is only shown through an explicit, logged action (see
// `custos thumbnail --original`, docs/cli.md).
//
// Thread-safety: stateless functions; safe from any thread.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(image::Image img, image::DecodeImage(bytes));
//   image::Image t = image::MakeThumbnail(img, {});
//   CUSTOS_ASSIGN_OR_RETURN(std::string png, image::EncodePng(t));
#ifndef CUSTOS_SRC_IMAGE_THUMBNAIL_H_
#define CUSTOS_SRC_IMAGE_THUMBNAIL_H_

#include <string>

#include "absl/status/statusor.h"
#include "src/image/image.h"

namespace custos::image {

struct ThumbnailOptions {
  int max_side = 160;  // the longer side of the thumbnail, in pixels
  bool grey = true;    // luma (0.299, 0.587, 0.114) instead of colour
  // Blur radius as a fraction of max_side; three box-filter passes
  // (close to a Gaussian of sigma ~ radius). 0 = no blur.
  double blur = 0.04;
};

// Downscales (area average) so that the longer side is at most max_side,
// converts to grey and blurs, as the options say. Never enlarges.
Image MakeThumbnail(const Image& img, const ThumbnailOptions& options);

// 8-bit PNG (grey or RGB) of `img`.
absl::StatusOr<std::string> EncodePng(const Image& img);

}  // namespace custos::image

#endif  // CUSTOS_SRC_IMAGE_THUMBNAIL_H_
