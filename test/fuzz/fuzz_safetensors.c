/*
** fuzz_safetensors.c: the .safetensors reader of src/tensorfile.c (its
** JSON header parser above all), fed any file image named
** "fuzz.safetensors".  Properties: see fuzz_tensorfile.h.
*/
#include "fuzz_tensorfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  fuzzTensorFile(data, size, "fuzz.safetensors");
  return 0;
}
