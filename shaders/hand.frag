#version 330 core
// Skin (and the cuff and sleeve): the scene's lighting with a soft wrap so the hand never goes
// black on its shadow side.
#include "common.glsl"

in vec3 v_pos;
in vec3 v_normal;
in vec3 v_color;

out vec4 frag_color;

void main() {
    vec3 N = normalize(v_normal);
    vec3 lit = shade(v_color, N, v_pos, 0.0, 0.6);
    frag_color = vec4(tonemap(lit + v_color * u_sky.rgb * 0.35), 1.0);
}
