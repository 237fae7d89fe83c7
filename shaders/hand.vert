#version 330 core
// The viewer's own hands (render/hands.py): one instanced unit capsule per bone.
#include "common.glsl"

layout(location = 0) in vec4 a_unit;   // xyz unit offset (y along the bone), w end t (0: a, 1: b)
layout(location = 1) in vec4 i_a;      // xyz bone start, w its radius
layout(location = 2) in vec4 i_b;      // xyz bone end, w its radius
layout(location = 3) in vec4 i_color;  // rgb linear

out vec3 v_pos;
out vec3 v_normal;
out vec3 v_color;

void main() {
    vec3 d = i_b.xyz - i_a.xyz;
    float len = length(d);
    vec3 y = len > 1e-6 ? d / len : vec3(0.0, 1.0, 0.0);
    vec3 x = cross(y, vec3(0.0, 0.0, 1.0));
    if (dot(x, x) < 1e-6) x = cross(y, vec3(1.0, 0.0, 0.0));
    x = normalize(x);
    vec3 z = cross(x, y);
    vec3 n = x * a_unit.x + y * a_unit.y + z * a_unit.z;
    float r = mix(i_a.w, i_b.w, a_unit.w);
    vec3 world = mix(i_a.xyz, i_b.xyz, a_unit.w) + n * r;
    v_pos = world;
    v_normal = n;
    v_color = i_color.rgb;
    gl_Position = u_view_proj * vec4(world, 1.0);
}
