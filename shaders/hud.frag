#version 330 core
// The head-up card's pixels (sRGB texture, blended over the scene).

uniform sampler2D u_hud;

in vec2 v_uv;
out vec4 frag_color;

void main() {
    vec4 c = texture(u_hud, v_uv);
    if (c.a < 0.01) discard;
    frag_color = c;
}
