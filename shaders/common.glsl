// Shared uniform blocks and lighting. Included by the other shaders ("#include").
// Colours are linear; the sRGB framebuffer encodes on write.

layout(std140) uniform ViewBlock {
    mat4 u_view_proj;
    vec4 u_camera;          // xyz eye position
};

layout(std140) uniform SceneBlock {
    vec4 u_sky;             // rgb ambient from above
    vec4 u_ground;          // rgb ambient from below
    vec4 u_light_count;     // x: number of lights (<= 8)
    vec4 u_light_pos[8];    // xyz direction (w = 0, directional: the way light travels) or position (w = 1)
    vec4 u_light_color[8];  // rgb colour * intensity, w: range (point lights)
};

vec3 shade(vec3 albedo, vec3 N, vec3 P, float metallic, float roughness) {
    vec3 V = normalize(u_camera.xyz - P);
    vec3 diffuse = albedo * (1.0 - metallic);
    vec3 f0 = mix(vec3(0.04), albedo, metallic);
    vec3 ambient = mix(u_ground.rgb, u_sky.rgb, N.y * 0.5 + 0.5);
    vec3 color = (diffuse + f0 * 0.5) * ambient;
    float r = clamp(roughness, 0.05, 1.0);
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
        vec3 H = normalize(L + V);
        vec3 spec = f0 * pow(max(dot(N, H), 0.0), shininess) * norm;
        color += (diffuse + spec) * u_light_color[i].rgb * ndl * att;
    }
    return color;
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
