/*
** fuzz_npy.c: the .npy and .npz readers of src/tensorfile.c, fed any file
** image named "fuzz.npy" (a zip image is read as .npz whatever its name).
** Properties: see fuzz_tensorfile.h.
*/
#include "fuzz_tensorfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  fuzzTensorFile(data, size, "fuzz.npy");
  return 0;
}
