/* Rotary position embedding frequencies, as transformers' rope init
 * functions compute them in float32: "default", "linear" and "llama3"
 * rope_scaling. */
#include "model/arch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* llama3: long wavelengths divided by factor, short ones kept, a smooth
 * blend between (transformers' _compute_llama3_parameters). */
static rmb_status scale_llama3(float *inv, int half, const rmb_config *cfg, json_t *rs,
                               rmb_error *err)
{
    double factor = 8, low = 1, high = 4, old_len = 8192;
    rmb_status st;
    if ((st = rmb_config_num(cfg, rs, "factor", 1, 1e6, &factor, err)) ||
        (st = rmb_config_num(cfg, rs, "low_freq_factor", 1e-6, 1e6, &low, err)) ||
        (st = rmb_config_num(cfg, rs, "high_freq_factor", 1e-6, 1e6, &high, err)) ||
        (st = rmb_config_num(cfg, rs, "original_max_position_embeddings", 1, 1e9, &old_len, err)))
        return st;
    if (high <= low)
        return rmb_fail(err, RMB_EDATA,
                        "%s: rope_scaling: high_freq_factor must exceed low_freq_factor", cfg->path);
    float low_wavelen = (float)(old_len / low), high_wavelen = (float)(old_len / high);
    for (int i = 0; i < half; i++) {
        float wavelen = (float)(2 * M_PI) / inv[i];
        float scaled = wavelen > low_wavelen ? inv[i] / (float)factor : inv[i];
        if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
            float smooth = ((float)old_len / wavelen - (float)low) / (float)(high - low);
            scaled = (1 - smooth) * scaled / (float)factor + smooth * scaled;
        }
        inv[i] = scaled;
    }
    return RMB_OK;
}

rmb_status rmb_rope_init(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    int half = cfg->head_dim / 2;
    if (!(d->inv_freq = calloc((size_t)half, sizeof *d->inv_freq)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (int i = 0; i < half; i++) {
        float expo = (float)(2 * i) / (float)cfg->head_dim;
        d->inv_freq[i] = 1.0f / (float)pow(cfg->rope_theta, (double)expo);
    }
    json_t *rs = json_object_get(cfg->root, "rope_scaling");
    if (!rs || json_is_null(rs))
        return RMB_OK;
    const char *type = rmb_config_str(cfg, rs, "rope_type");
    if (!type)
        type = rmb_config_str(cfg, rs, "type");
    if (!type || !strcmp(type, "default"))
        return RMB_OK;
    if (!strcmp(type, "llama3"))
        return scale_llama3(d->inv_freq, half, cfg, rs, err);
    if (!strcmp(type, "linear")) {
        double factor = 1;
        rmb_status st = rmb_config_num(cfg, rs, "factor", 1e-6, 1e6, &factor, err);
        for (int i = 0; st == RMB_OK && i < half; i++)
            d->inv_freq[i] /= (float)factor;
        return st;
    }
    return rmb_fail(err, RMB_EUNSUPPORTED,
                    "%s: rope_scaling: type '%s' is not supported (default, linear, llama3)",
                    cfg->path, type);
}
