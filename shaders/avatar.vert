#version 330 core
// Instanced avatars: one draw for all of them. Each vertex names its part; the part picks the
// instance pose it follows (seat root, head, left or right hand).
#include "common.glsl"

layout(location = 0) in vec3 a_pos;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec2 a_uv;
layout(location = 3) in vec2 a_part;      // x: part id, y: colour source
layout(location = 4) in vec3 a_color;
// per instance
layout(location = 5) in vec4 i_root;      // xyz seat origin, w speaking level 0..1
layout(location = 6) in vec4 i_root_q;
layout(location = 7) in vec4 i_head;      // xyz head position, w left hand visible
layout(location = 8) in vec4 i_head_q;
layout(location = 9) in vec4 i_left;      // xyz left hand position, w right hand visible
layout(location = 10) in vec4 i_left_q;
layout(location = 11) in vec4 i_right;    // xyz right hand position, w seated
layout(location = 12) in vec4 i_right_q;
layout(location = 13) in vec4 i_color;    // rgb delegation colour (linear)
layout(location = 14) in vec4 i_placard;  // UV rect of the name in the atlas

out vec3 v_pos;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_color;
flat out int v_source;

const int PART_ROOT = 0, PART_HEAD = 1, PART_LEFT = 2, PART_RIGHT = 3, PART_PLACARD = 4,
          PART_INDICATOR = 5, PART_SEATED = 6, PART_LEGS = 7;
const vec3 PLACARD_OFFSET = vec3(0.0, 0.80, -0.52);

void main() {
    int part = int(a_part.x + 0.5);
    v_source = int(a_part.y + 0.5);
    vec3 p = a_pos;
    float scale = 1.0;
    vec3 origin = i_root.xyz;
    vec4 q = i_root_q;
    bool seated = i_right.w > 0.5;
    if (!seated) {
        if (part == PART_ROOT && p.y > 0.45) p.y += 0.45;
        if (part == PART_LEGS) { p.z += 0.38; p.y *= 2.15; }
        if (part == PART_SEATED) scale = 0.0;
    }
    if (part == PART_HEAD) {
        origin = i_head.xyz; q = i_head_q;
    } else if (part == PART_LEFT) {
        origin = i_left.xyz; q = i_left_q; scale = i_head.w;
    } else if (part == PART_RIGHT) {
        origin = i_right.xyz; q = i_right_q; scale = i_left.w;
    } else if (part == PART_INDICATOR) {
        origin = i_head.xyz;
        scale = i_root.w > 0.0 ? 1.0 + 0.35 * i_root.w : 0.0;
    } else if (part == PART_PLACARD && !seated) {
        // standing: the name floats above the head like a label
        origin = i_head.xyz + vec3(0.0, 0.36, 0.0);
        p = (p - PLACARD_OFFSET) * 0.8;
    }
    vec3 world = origin + qrot(q, p * scale);
    v_pos = world;
    v_normal = qrot(q, a_normal);
    v_uv = v_source == 2 ? mix(i_placard.xy, i_placard.zw, a_uv) : a_uv;
    v_color = v_source == 1 ? i_color.rgb : a_color;
    gl_Position = u_view_proj * vec4(world, 1.0);
}
