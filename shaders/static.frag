#version 330 core
// Static scene: PBR-lite (Lambert + normalised Blinn-Phong), base colour from the texture array.
#include "common.glsl"

layout(std140) uniform MaterialBlock {
    vec4 u_materials[768];  // per material: base colour; emissive.rgb + texture layer (-1: none); metallic, roughness, emissive layer
};
uniform sampler2DArray u_textures;

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
        vec4 t = texture(u_textures, vec3(v_uv, em.w));
        if (t.a < 0.5 && base.a >= 0.999) discard;
        base *= t;
    }
    vec3 emissive = em.rgb;
    if (params.z >= 0.0) emissive *= texture(u_textures, vec3(v_uv, params.z)).rgb;
    vec3 N = normalize(v_normal);
    if (!gl_FrontFacing) N = -N;
    vec3 color = shade(base.rgb, N, v_pos, params.x, params.y) + emissive;
    frag_color = vec4(tonemap(color), base.a);
}
