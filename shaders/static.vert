#version 330 core
// Static scene geometry, baked to world space; a_material indexes the material table.
#include "common.glsl"

layout(location = 0) in vec3 a_pos;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec2 a_uv;
layout(location = 3) in float a_material;

out vec3 v_pos;
out vec3 v_normal;
out vec2 v_uv;
flat out int v_material;

void main() {
    v_pos = a_pos;
    v_normal = a_normal;
    v_uv = a_uv;
    v_material = int(a_material + 0.5);
    gl_Position = u_view_proj * vec4(a_pos, 1.0);
}
