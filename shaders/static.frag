#version 330 core
// Static scene: PBR-lite (Lambert + normalised Blinn-Phong, hemispheric ambient, a shadowed key
// light), base colour from the texture array, and a procedural surface detail in world space
// for untextured materials (wood grain, carpet pile, marble veins and joints, plaster, fabric)
// so large surfaces are not flat fills. The surface kind comes from the material table
// (render/batching.py: surface_kind) and fades out where it would alias.
#include "common.glsl"

layout(std140) uniform MaterialBlock {
    vec4 u_materials[768];  // per material: base colour; emissive.rgb + texture layer (-1: none); metallic, roughness, emissive layer, surface kind
};
uniform sampler2DArray u_textures;  // every texture at the layer size
uniform sampler2DArray u_large;     // the few big atlases (placards, flags) at up to 2048
const float LARGE_LAYER = 4096.0;   // layers from here on are in u_large (see batching.py)
// surface kinds; keep in step with render/batching.py
const int SURF_PLAIN = 0, SURF_WOOD = 1, SURF_CARPET = 2, SURF_MARBLE = 3, SURF_PLASTER = 4, SURF_FABRIC = 5,
          SURF_METAL = 6;

vec4 sample_layer(vec2 uv, float layer) {
    if (layer >= LARGE_LAYER) return texture(u_large, vec3(uv, layer - LARGE_LAYER));
    return texture(u_textures, vec3(uv, layer));
}

in vec3 v_pos;
in vec3 v_normal;
in vec2 v_uv;
flat in int v_material;
flat in vec3 v_bounce;

out vec4 frag_color;

float hash2(vec2 p) {
    p = fract(p * vec2(123.34, 456.21));
    p += dot(p, p + 45.32);
    return fract(p.x * p.y);
}

float vnoise(vec2 p) {
    vec2 i = floor(p), f = fract(p);
    f = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash2(i), hash2(i + vec2(1.0, 0.0)), f.x), mix(hash2(i + vec2(0.0, 1.0)), hash2(i + 1.0), f.x), f.y);
}

// 1 where a pattern of ``freq`` cycles per metre is resolved, 0 where it would shimmer.
float resolved(vec2 uv, float freq) {
    vec2 w = fwidth(uv) * freq;
    return clamp(1.5 - 2.0 * max(w.x, w.y), 0.0, 1.0);
}

// Albedo and roughness of a surface ``kind`` at world point P (planar projection on the face's main axis).
vec3 surface(int kind, vec3 albedo, vec3 P, vec3 N, inout float roughness, out float occlusion) {
    occlusion = 1.0;
    if (kind == SURF_PLAIN) return albedo;
    vec3 a = abs(N);
    vec2 uv = a.y > max(a.x, a.z) ? P.xz : (a.x > a.z ? P.zy : P.xy);
    if (kind == SURF_WOOD) {
        // grain along the face's first axis: warped stripes, a slow figure, a little gloss variation
        float warp = vnoise(uv * vec2(0.9, 7.0)) * 3.0 + vnoise(uv * vec2(0.3, 2.0)) * 4.0;
        float g = 0.5 + 0.5 * sin((uv.y * 44.0 + warp) * 3.1416);
        float k = resolved(uv, 22.0);
        float figure = vnoise(uv * vec2(0.4, 3.0));
        roughness *= mix(0.92, 1.1, g * k);
        return albedo * mix(1.0, mix(0.9, 1.05, g * g), k) * (0.9 + 0.18 * figure);
    }
    if (kind == SURF_CARPET) {
        float pile = vnoise(uv * 90.0) * resolved(uv, 90.0);
        float mottle = vnoise(uv * 1.3);
        return albedo * (0.9 + 0.18 * pile) * (0.94 + 0.12 * mottle);
    }
    if (kind == SURF_MARBLE) {
        // veined slabs with thin joints every 1.2 m
        float n = vnoise(uv * 1.1) * 4.0 + vnoise(uv * 4.3) * 1.2;
        float vein = 1.0 - abs(sin((uv.x * 0.8 + uv.y * 1.3) * 2.0 + n));
        vein = pow(vein, 14.0) * resolved(uv, 6.0);
        vec2 j = abs(fract(uv / 1.2 + 0.5) - 0.5) * 1.2;
        float joint = (1.0 - smoothstep(0.0, 0.006, min(j.x, j.y))) * resolved(uv, 80.0);
        occlusion = 1.0 - 0.35 * joint;
        vec3 c = mix(albedo * (0.92 + 0.16 * vnoise(uv * 0.6 + 7.0)), albedo * 1.3 + 0.02, vein * 0.22);
        return c * (1.0 - 0.35 * joint);
    }
    if (kind == SURF_PLASTER) {
        return albedo * (0.95 + 0.07 * vnoise(uv * 2.2) + 0.03 * vnoise(uv * 17.0) * resolved(uv, 17.0));
    }
    if (kind == SURF_FABRIC) {
        vec2 w = abs(fract(uv * 160.0) - 0.5);
        float weave = (w.x < w.y ? 0.96 : 1.04);
        float k = resolved(uv, 160.0);
        return albedo * mix(1.0, weave, k) * (0.93 + 0.12 * vnoise(uv * 9.0));
    }
    if (kind == SURF_METAL) {
        roughness *= 0.85 + 0.3 * vnoise(uv * vec2(2.0, 60.0)) * resolved(uv, 60.0);
        return albedo;
    }
    return albedo;
}

void main() {
    vec4 base = u_materials[v_material * 3];
    vec4 em = u_materials[v_material * 3 + 1];
    vec4 params = u_materials[v_material * 3 + 2];
    if (em.w >= 0.0) {
        vec4 t = sample_layer(v_uv, em.w);
        if (t.a < 0.5 && base.a >= 0.999) discard;
        base *= t;
    }
    vec3 emissive = em.rgb;
    if (params.z >= 0.0) emissive *= sample_layer(v_uv, params.z).rgb;
    vec3 N = normalize(v_normal);
    if (!gl_FrontFacing) N = -N;
    float roughness = params.y;
    float occlusion;
    vec3 albedo = surface(em.w >= 0.0 ? SURF_PLAIN : int(params.w + 0.5), base.rgb, v_pos, N, roughness, occlusion);
    vec3 color = shade_ao(albedo, N, v_pos, params.x, roughness, occlusion) + emissive;
    // bounced light on the room's own untextured surfaces: ceilings and undersides most, walls a
    // little (rooms are not lit from above only); printed and displayed images keep their contrast
    if (em.w < 0.0) color += albedo * (1.0 - params.x) * v_bounce * occlusion * (max(-N.y, 0.0) + 0.25 * (1.0 - abs(N.y)));
    frag_color = vec4(tonemap(color), base.a);
}
