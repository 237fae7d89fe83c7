#version 330 core
// The key light's shadow map: static casters in the light's [0,1]^3 box (SceneBlock).
#include "common.glsl"

layout(location = 0) in vec3 a_pos;

void main() {
    vec3 s = (u_shadow_matrix * vec4(a_pos, 1.0)).xyz;
    gl_Position = vec4(s * 2.0 - 1.0, 1.0);
}
