#version 330 core
// Avatars: vertex or delegation colour, the placard atlas, the emissive speaking halo, or a
// gesture icon badge (unlit, cut out by its alpha), or the soft contact shadow on the floor under
// each avatar (the only translucent part: the avatar pass blends, everything else writes alpha 1).
#include "common.glsl"

uniform sampler2D u_atlas;
uniform sampler2D u_icons;

in vec3 v_pos;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_color;
flat in int v_source;

out vec4 frag_color;

// skin: the colour at the silhouette (times the lit colour), the key light's sheen, the rim
const vec3 SKIN_FORM = vec3(0.62, 0.52, 0.47);
const float SKIN_SHEEN = 0.045, SKIN_RIM = 0.15;

void main() {
    vec3 N = normalize(v_normal);
    if (!gl_FrontFacing) N = -N;
    if (v_source == 8) {
        float r = length(v_uv * 2.0 - 1.0);
        float a = 1.0 - smoothstep(0.05, 1.0, r);
        if (a < 0.02) discard;
        frag_color = vec4(0.0, 0.0, 0.0, 0.72 * pow(a, 1.3));
        return;
    }
    if (v_source == 9) {  // the name tag: unlit, so it reads the same in any light
        frag_color = vec4(texture(u_atlas, v_uv).rgb * 0.92, 1.0);
        return;
    }
    if (v_source == 4) {
        vec4 icon = texture(u_icons, v_uv);
        if (icon.a < 0.5) discard;
        frag_color = vec4(icon.rgb, 1.0);
        return;
    }
    if (v_source == 3) {
        frag_color = vec4(tonemap(v_color * 1.2 + shade(v_color, N, v_pos, 0.0, 0.5) * 0.2), 1.0);
        return;
    }
    vec3 albedo = v_color;
    float roughness = 0.75;
    if (v_source == 2) {
        albedo = texture(u_atlas, v_uv).rgb;
        roughness = 0.9;
        // placards stay legible in dim halls: a little self-light
        frag_color = vec4(tonemap(shade(albedo, N, v_pos, 0.0, roughness) + albedo * 0.25), 1.0);
        return;
    }
    if (v_source == 5) {  // skin: softer, with a warm glow past the terminator (light through the skin)
        vec3 V = normalize(u_camera.xyz - v_pos);
        float ndv = max(dot(N, V), 0.0);
        vec3 c = shade(albedo, N, v_pos, 0.0, 0.55) + albedo * vec3(1.0, 0.55, 0.42) * wrap_extra(N, v_pos, 0.45) * 0.8;
        // form: skin turning away from the eye takes less of the soft fill and warms (blood under
        // it), so a face in a frontal light reads round, not as a flat disc; face on: unchanged
        c *= mix(SKIN_FORM, vec3(1.0), smoothstep(0.05, 0.85, ndv));
        // a broad, faint sheen of the key light (forehead, nose, cheekbones): skin, not plastic
        if (u_light_count.x > 0.5) {
            vec3 L = u_light_pos[0].w < 0.5 ? normalize(-u_light_pos[0].xyz) : normalize(u_light_pos[0].xyz - v_pos);
            float ndl = max(dot(N, L), 0.0);
            float ndh = max(dot(N, normalize(L + V)), 0.0);
            c += u_light_color[0].rgb * (SKIN_SHEEN * pow(ndh, 20.0) * ndl * key_light_visibility(v_pos, N));
        }
        // and a faint rim of the room's light at the silhouette, which parts it from what lies behind
        c += (u_sky.rgb + albedo * 0.5) * (SKIN_RIM * pow(1.0 - ndv, 4.0));
        frag_color = vec4(tonemap(c), 1.0);
        return;
    }
    if (v_source == 6) {  // hair: matte, with a soft sheen across the strands (Kajiya-Kay: strands run
        // down the head), so a head of hair reads as hair and not as a painted cap
        vec3 T = vec3(0.0, 1.0, 0.0) - N * N.y;
        T = dot(T, T) > 1e-6 ? normalize(T) : vec3(0.0, 0.0, 1.0);
        vec3 V = normalize(u_camera.xyz - v_pos);
        vec3 L = u_light_count.x > 0.5 ? (u_light_pos[0].w < 0.5 ? normalize(-u_light_pos[0].xyz)
                                                                 : normalize(u_light_pos[0].xyz - v_pos)) : vec3(0.0, 1.0, 0.0);
        vec3 H = normalize(L + V);
        float th = dot(T, H);
        float sheen = pow(sqrt(max(1.0 - th * th, 0.0)), 48.0) * max(dot(N, L), 0.0);
        vec3 c = shade(albedo, N, v_pos, 0.0, 0.85) + (albedo * 0.6 + vec3(0.035)) * sheen * u_light_color[0].rgb;
        frag_color = vec4(tonemap(c), 1.0);
        return;
    }
    if (v_source == 7) {  // suit cloth: a soft sheen at grazing angles that shows the tailoring
        vec3 V = normalize(u_camera.xyz - v_pos);
        float rim = pow(1.0 - max(dot(N, V), 0.0), 3.0);
        vec3 c = shade(albedo, N, v_pos, 0.0, 0.62) + albedo * rim * (u_sky.rgb * 2.5 + 0.15);
        frag_color = vec4(tonemap(c), 1.0);
        return;
    }
    frag_color = vec4(tonemap(shade(albedo, N, v_pos, 0.0, roughness)), 1.0);
}
