/*
** vector_codec.c: unit tests of src/vector.c, the one vector codec.
*/
#include "unit.h"
#include <string.h>
#include <stdint.h>
#include "vector.h"

static int decodeJson(const char *z, float *a, int64_t cap, int64_t *pn,
                      attn_err *pErr){
  int rc = attn_vec_dim(z, (int64_t)strlen(z), 1, pn, pErr);
  if( rc ) return rc;
  if( *pn>cap ) return 99;
  return attn_vec_decode(z, (int64_t)strlen(z), 1, a, *pn, pErr);
}

int main(void){
  float a[16];
  int64_t n = 0;
  attn_err err;
  char z[256];

  /* JSON: flat, nested, whitespace */
  CHECK(decodeJson(" [1, 2.5 ,-3e0]\n", a, 16, &n, &err)==0);
  CHECK(n==3 && a[0]==1.0f && a[1]==2.5f && a[2]==-3.0f);
  CHECK(decodeJson("[[1,2],[3,4]]", a, 16, &n, &err)==0);
  CHECK(n==4 && a[3]==4.0f);
  CHECK(decodeJson("[-0]", a, 16, &n, &err)==0 && n==1 && signbit(a[0]));

  /* JSON errors, with positions */
  CHECK(decodeJson("[1,,2]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "is not a valid JSON vector: expected a number at "
                         "character 4, found ','")==0);
  CHECK(decodeJson("[]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(decodeJson("[1,2", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(strstr(err.zMsg, "found the end of the text")!=0);
  CHECK(decodeJson("[nan]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(decodeJson("[inf]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(decodeJson("[0x10]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(decodeJson("[01]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(decodeJson("[1.]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(decodeJson("[1e400]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(strstr(err.zMsg, "outside the float32 range")!=0);
  CHECK(decodeJson("[[1,2],[3]]", a, 16, &n, &err)==ATTN_ERROR);
  CHECK(strstr(err.zMsg, "not a rectangular JSON matrix")!=0);
  CHECK(decodeJson("[1] x", a, 16, &n, &err)==ATTN_ERROR);

  /* Blobs */
  {
    unsigned char b[8] = {0,0,0x80,0x3f, 0,0,0xc0,0x7f};   /* 1.0, NaN */
    CHECK(attn_vec_dim(b, 6, 0, &n, &err)==ATTN_ERROR);
    CHECK(attn_vec_dim(b, 0, 0, &n, &err)==ATTN_ERROR);
    CHECK(attn_vec_dim(b, 8, 0, &n, &err)==0 && n==2);
    CHECK(attn_vec_decode(b, 8, 0, a, 2, &err)==ATTN_ERROR);
    CHECK(strcmp(err.zMsg, "has element 1 equal to NaN, expected a finite "
                           "number")==0);
    CHECK(attn_vec_decode(b, 4, 0, a, 1, &err)==0 && a[0]==1.0f);
  }

  /* JSON output: shortest text that reads back to the same bits */
  {
    float v[] = { 0.1f, 1.0f, -0.0f, 3.4028235e38f, 1.4e-45f, 1.17549435e-38f,
                  16777217.0f, 0.3333333432674407958984375f };
    int64_t i, nv = sizeof(v)/sizeof(v[0]);
    float back[16];
    attn_vec_to_json(v, nv, z);
    /* Expected digits: numpy's shortest float32 repr of the same values
    ** (np.format_float_scientific(np.float32(x), unique=True)). */
    CHECK(strcmp(z, "[0.1,1,-0,3.4028235e+38,1e-45,1.1754944e-38,16777216,"
                    "0.33333334]")==0);
    CHECK(attn_vec_dim(z, (int64_t)strlen(z), 1, &n, &err)==0 && n==nv);
    CHECK(attn_vec_decode(z, (int64_t)strlen(z), 1, back, n, &err)==0);
    for(i=0; i<nv; i++) CHECK(memcmp(&back[i], &v[i], 4)==0);
  }

  /* Half precision */
  CHECK(attn_f16_to_f32(0x3c00)==1.0f);
  CHECK(attn_f16_to_f32(0xc000)==-2.0f);
  CHECK(attn_f16_to_f32(0x0001)==5.9604644775390625e-8f);
  CHECK(attn_f16_to_f32(0x7bff)==65504.0f);
  CHECK(isinf(attn_f16_to_f32(0x7c00)));
  CHECK(attn_bf16_to_f32(0x3f80)==1.0f);
  CHECK(attn_bf16_to_f32(0xc040)==-3.0f);

  return UNIT_DONE();
}
