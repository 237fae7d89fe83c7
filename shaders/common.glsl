// Shared uniform blocks and lighting. Included by the other shaders ("#include").
// Colours are linear; the sRGB framebuffer encodes on write.

layout(std140) uniform ViewBlock {
    mat4 u_view_proj;
    vec4 u_camera;          // xyz eye position
};

layout(std140) uniform SceneBlock {
    vec4 u_sky;             // rgb ambient from above
    vec4 u_ground;          // rgb ambient from below (the floor's bounce)
    vec4 u_light_count;     // x: number of lights (<= 8)
    vec4 u_light_pos[8];    // xyz direction (w = 0, directional: the way light travels) or position (w = 1)
    vec4 u_light_color[8];  // rgb colour * intensity, w: range (point lights)
    mat4 u_shadow_matrix;   // world -> key light's shadow map [0,1]^3 (light 0, directional)
    vec4 u_shadow;          // x: 1 shadows on, y: one texel in UV, z: normal offset (m), w: depth bias
};

uniform sampler2DShadow u_shadow_map;  // light 0's depth, static casters only (rendered once per scene)

// How much of the key light (light 0) reaches P: one bilinear-compared tap (2x2 texels, a soft
// edge about a texel wide; four taps cost llvmpipe a third more frame time for little gain).
float key_light_visibility(vec3 P, vec3 N) {
    if (u_shadow.x < 0.5) return 1.0;
    vec3 s = (u_shadow_matrix * vec4(P + N * u_shadow.z, 1.0)).xyz;
    if (any(lessThan(s, vec3(0.0))) || any(greaterThan(s, vec3(1.0)))) return 1.0;
    return texture(u_shadow_map, vec3(s.xy, s.z - u_shadow.w));
}

// Lambert + normalised Blinn-Phong for every light (light 0 shadowed), a hemispheric ambient
// (sky above, floor bounce below) and a rough environment reflection with Fresnel, so polished
// wood, marble and metal read as such. ``occlusion`` darkens the ambient only.
vec3 shade_ao(vec3 albedo, vec3 N, vec3 P, float metallic, float roughness, float occlusion) {
    vec3 V = normalize(u_camera.xyz - P);
    vec3 diffuse = albedo * (1.0 - metallic);
    vec3 f0 = mix(vec3(0.04), albedo, metallic);
    float r = clamp(roughness, 0.05, 1.0);
    float ndv = max(dot(N, V), 0.0);
    vec3 fresnel = f0 + (max(vec3(0.6 - 0.6 * r), f0) - f0) * pow(1.0 - ndv, 5.0);
    vec3 ambient = mix(u_ground.rgb, u_sky.rgb, N.y * 0.5 + 0.5);
    vec3 R = reflect(-V, N);
    vec3 env = mix(u_ground.rgb, u_sky.rgb * 1.4, smoothstep(-0.3, 0.6, R.y));
    vec3 color = (diffuse * ambient + fresnel * env * (1.0 - 0.7 * r)) * occlusion;
    float shininess = clamp(2.0 / (r * r * r * r) - 2.0, 1.0, 2048.0);
    float norm = (shininess + 8.0) / 25.13;
    int count = int(u_light_count.x);
    for (int i = 0; i < 8; ++i) {
        if (i >= count) break;
        vec3 L;
        float att = 1.0;
        if (u_light_pos[i].w < 0.5) {
            L = normalize(-u_light_pos[i].xyz);
        } else {
            vec3 d = u_light_pos[i].xyz - P;
            float dist = length(d);
            L = d / max(dist, 1e-4);
            float x = clamp(1.0 - (dist * dist) / (u_light_color[i].w * u_light_color[i].w), 0.0, 1.0);
            att = x * x;
        }
        float ndl = max(dot(N, L), 0.0);
        if (ndl <= 0.0) continue;
        if (i == 0) att *= key_light_visibility(P, N);
        vec3 H = normalize(L + V);
        vec3 spec = f0 * pow(max(dot(N, H), 0.0), shininess) * norm;
        color += (diffuse + spec) * u_light_color[i].rgb * ndl * att;
    }
    return color;
}

vec3 shade(vec3 albedo, vec3 N, vec3 P, float metallic, float roughness) {
    return shade_ao(albedo, N, P, metallic, roughness, 1.0);
}

// What wrapped diffuse light (``wrap`` 0..1) adds over Lambert, summed over the lights: light
// reaching past the terminator, as it does through skin (the caller tints it red).
vec3 wrap_extra(vec3 N, vec3 P, float wrap) {
    vec3 sum = vec3(0.0);
    int count = int(u_light_count.x);
    for (int i = 0; i < 8; ++i) {
        if (i >= count) break;
        vec3 L;
        float att = 1.0;
        if (u_light_pos[i].w < 0.5) {
            L = normalize(-u_light_pos[i].xyz);
        } else {
            vec3 d = u_light_pos[i].xyz - P;
            float dist = length(d);
            L = d / max(dist, 1e-4);
            float x = clamp(1.0 - (dist * dist) / (u_light_color[i].w * u_light_color[i].w), 0.0, 1.0);
            att = x * x;
        }
        float ndl = dot(N, L);
        sum += u_light_color[i].rgb * att * (max((ndl + wrap) / (1.0 + wrap), 0.0) - max(ndl, 0.0));
    }
    return sum;
}

vec3 qrot(vec4 q, vec3 v) {
    return v + 2.0 * cross(q.xyz, cross(q.xyz, v) + q.w * v);
}

// Identity up to 0.6 (mid-grey and below are exact), then a soft shoulder towards 1.0 so bright
// lights and emissive screens roll off instead of clipping flat.
vec3 tonemap(vec3 c) {
    vec3 over = max(c - 0.6, 0.0);
    return min(c, vec3(0.6)) + 0.4 * (1.0 - exp(-over / 0.4));
}
