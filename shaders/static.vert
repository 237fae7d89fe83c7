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
flat out vec3 v_bounce;  // light the lit floor and walls throw back up (see static.frag)

void main() {
    // the room's lights, summed (directional ones by how steeply they fall on the floor): a
    // fraction of that comes back off the floor and walls onto ceilings, soffits and undersides
    vec3 sum = vec3(0.0);
    int count = int(u_light_count.x);
    for (int i = 0; i < 8; ++i) {
        if (i >= count) break;
        float k = u_light_pos[i].w < 0.5 ? max(-normalize(u_light_pos[i].xyz).y, 0.0) : 0.6;
        sum += u_light_color[i].rgb * k;
    }
    v_bounce = sum * 0.16;
    v_pos = a_pos;
    v_normal = a_normal;
    v_uv = a_uv;
    v_material = int(a_material + 0.5);
    gl_Position = u_view_proj * vec4(a_pos, 1.0);
}
