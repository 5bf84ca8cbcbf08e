/* What every layer_<dtype>_<isa>.h names the same way from its vector width's helpers
 * (simd_x86.h, simd_neon.h): the layer defines LY_SIMD (simd4, simd8 or simd16) and includes this
 * last. */
#define LY_CAT2_(a, b) a##b
#define LY_CAT_(a, b) LY_CAT2_(a, b)
#define ly_relu LY_CAT_(LY_SIMD, _relu)
#define ly_add LY_CAT_(LY_SIMD, _add)
#define ly_clamp LY_CAT_(LY_SIMD, _clamp)
#define ly_store LY_CAT_(LY_SIMD, _store)
#define ly_post LY_CAT_(LY_SIMD, _post)
#define ly_split LY_CAT_(LY_SIMD, _split)
#define ly_half LY_CAT_(LY_SIMD, _half)
#define ly_fma LY_CAT_(LY_SIMD, _fma)
#define ly_lanes LY_CAT_(LY_SIMD, _lanes)
#define ly_gather LY_CAT_(LY_SIMD, _gather)
#define ly_scatter LY_CAT_(LY_SIMD, _scatter)
#define ly_load_span LY_CAT_(LY_SIMD, _load_span)
#define ly_load_span_even LY_CAT_(LY_SIMD, _load_span_even)
