#version 330 core
// The head-up card: four world-space corners from a uniform, no vertex buffer.
#include "common.glsl"

uniform vec3 u_corner[4];  // bottom-left, bottom-right, top-left, top-right

out vec2 v_uv;

void main() {
    vec2 uv = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    v_uv = vec2(uv.x, 1.0 - uv.y);  // the card image is uploaded top row first
    gl_Position = u_view_proj * vec4(u_corner[gl_VertexID], 1.0);
}
