#version 330 core
// Static scene: PBR-lite (Lambert + normalised Blinn-Phong), base colour from the texture array.
#include "common.glsl"

layout(std140) uniform MaterialBlock {
    vec4 u_materials[768];  // per material: base colour; emissive.rgb + texture layer (-1: none); metallic, roughness, emissive layer
};
uniform sampler2DArray u_textures;  // every texture at the layer size
uniform sampler2DArray u_large;     // the few big atlases (placards, flags) at up to 2048
const float LARGE_LAYER = 4096.0;   // layers from here on are in u_large (see batching.py)

vec4 sample_layer(vec2 uv, float layer) {
    if (layer >= LARGE_LAYER) return texture(u_large, vec3(uv, layer - LARGE_LAYER));
    return texture(u_textures, vec3(uv, layer));
}

in vec3 v_pos;
in vec3 v_normal;
in vec2 v_uv;
flat in int v_material;

out vec4 frag_color;

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
    vec3 color = shade(base.rgb, N, v_pos, params.x, params.y) + emissive;
    frag_color = vec4(tonemap(color), base.a);
}
