#version 330 core
// Instanced avatars: one draw for all of them. Each vertex names its part; the part picks the
// instance pose it follows (seat root, head, left or right hand, an arm between shoulder and hand,
// the gesture icon above the head). Hands take their shape here (fingers curled, thumb turned),
// arms are solved here (two-bone IK from the shoulder to the wrist).
#include "common.glsl"

layout(location = 0) in vec3 a_pos;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec4 a_uv_part;   // xy UV (for hands and arms x is the digit / segment), z part id, w colour source
layout(location = 3) in vec3 a_color;
// per instance (locations 4..15: sixteen in all, the GL minimum)
layout(location = 4) in vec4 i_root;      // xyz seat origin, w speaking level 0..1
layout(location = 5) in vec4 i_root_q;
layout(location = 6) in vec4 i_head;      // xyz head position, w left hand visible
layout(location = 7) in vec4 i_head_q;
layout(location = 8) in vec4 i_left;      // xyz left hand position, w right hand visible
layout(location = 9) in vec4 i_left_q;
layout(location = 10) in vec4 i_right;    // xyz right hand position, w seated
layout(location = 11) in vec4 i_right_q;
layout(location = 12) in vec4 i_color;    // rgb delegation colour (linear), w avatar id (skin, hair, suit, build)
layout(location = 13) in vec4 i_placard;  // UV rect of the name in the atlas
layout(location = 14) in vec4 i_extra;    // x left hand shape, y right hand shape, z icon (-1 none), w 1: hands only, 2: has a name tag
layout(location = 15) in vec4 i_face;     // xyz the point the eyes look at (x NaN: ahead), w eyelids closed 0..1

uniform vec4 u_icon_grid;                 // icon atlas: columns, cell width and height in UV

out vec3 v_pos;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_color;
flat out int v_source;

const int PART_ROOT = 0, PART_HEAD = 1, PART_LEFT = 2, PART_RIGHT = 3, PART_PLACARD = 4,
          PART_INDICATOR = 5, PART_SEATED = 6, PART_LEGS = 7, PART_ARM_LEFT = 8, PART_ARM_RIGHT = 9,
          PART_ICON = 10, PART_PUPIL_LEFT = 11, PART_PUPIL_RIGHT = 12, PART_LID = 13, PART_JAW = 14,
          PART_MOUTH = 15, PART_HAIR_LONG = 16, PART_SHADOW = 17, PART_TAG = 18, PART_TEETH = 19;
const float TAG_ABOVE = 0.215;            // the name tag's centre above the head centre (just over the halo, close to the head)
const float STAND_BROADEN = 0.10;  // standing chest and shoulders this much broader than seated (more reads as shoulder pads)
const float TAG_NEAREST = 0.9, TAG_AWAY_NEAREST = 3.0, TAG_FARTHEST = 9.0;  // metres: see PART_TAG below
const float PLACARD_SHARE = 0.4;          // render/tags.py: the tag is below the placard in its atlas cell
const int SRC_DELEGATION = 1, SRC_SKIN = 5, SRC_HAIR = 6, SRC_SUIT = 7;
// head space, as render/avatar_mesh.py
const vec3 EYE_CENTER = vec3(0.032, 0.018, -0.071);
const vec3 MOUTH_CENTER = vec3(0.0, -0.050, -0.0895);
const float MOUTH_HALF = 0.003, JAW_DROP = 0.013;   // the closed inside's half height; the jaw at full voice level
const float EYE_MAX_YAW = 0.42, EYE_MAX_PITCH = 0.30;  // radians: further than this a person turns the head
// sober palettes (linear RGB): skin tones, hair, suits
const vec3 SKINS[6] = vec3[6](vec3(0.60, 0.42, 0.32), vec3(0.58, 0.39, 0.28), vec3(0.45, 0.29, 0.19),
                              vec3(0.30, 0.18, 0.115), vec3(0.18, 0.105, 0.07), vec3(0.62, 0.45, 0.32));
const vec3 HAIRS[5] = vec3[5](vec3(0.015, 0.012, 0.010), vec3(0.09, 0.05, 0.025), vec3(0.19, 0.12, 0.06),
                              vec3(0.45, 0.45, 0.45), vec3(0.035, 0.025, 0.02));
// suits: navy, charcoal, a warm dark brown, mid grey, near-black
const vec3 SUITS[5] = vec3[5](vec3(0.014, 0.022, 0.060), vec3(0.034, 0.036, 0.041), vec3(0.040, 0.027, 0.018),
                              vec3(0.080, 0.082, 0.088), vec3(0.016, 0.016, 0.020));

// a stable pseudo-random integer for (avatar id, what)
int hash_id(float id, int what) {
    uint h = uint(int(abs(id) + 0.5)) * 747796405u + uint(what) * 2891336453u;
    h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
    return int((h >> 22u) ^ h) & 0x7fffffff;
}

mat3 rot_y(float a) { float c = cos(a), s = sin(a); return mat3(c, 0, -s, 0, 1, 0, s, 0, c); }
const int DIGIT_PALM = 0, DIGIT_THUMB = 1, DIGIT_INDEX = 2, DIGIT_FINGERS = 3;
const int SHAPE_OPEN = 0, SHAPE_FIST = 1, SHAPE_POINT = 2, SHAPE_THUMBS_UP = 3, SHAPE_THUMBS_DOWN = 4, SHAPE_RELAXED = 5;
const vec3 PLACARD_OFFSET = vec3(0.0, 0.80, -0.52);
const float KNUCKLE_Z = -0.07;
const float UPPER_ARM = 0.30, LOWER_ARM = 0.28;
const vec3 WRIST = vec3(0.0, 0.0, 0.035);  // hand space
const float ICON_SIZE = 0.26;
const float FIRST_PERSON_FOREARM = 0.16;

mat3 rot_x(float a) { float c = cos(a), s = sin(a); return mat3(1, 0, 0, 0, c, s, 0, -s, c); }
mat3 rot_z(float a) { float c = cos(a), s = sin(a); return mat3(c, s, 0, -s, c, 0, 0, 0, 1); }

// A basis with y along d (unit), for turning +Y-built parts.
mat3 basis_y(vec3 d) {
    vec3 x = cross(d, vec3(0.0, 0.0, 1.0));
    if (dot(x, x) < 1e-6) x = cross(d, vec3(1.0, 0.0, 0.0));
    x = normalize(x);
    return mat3(x, d, cross(x, d));
}

// A hand-space vertex (and normal) bent for the hand shape. side: +1 left hand (thumb on +X), -1
// right; hq the hand's orientation (a thumb up or down points up or down in the world).
void shape_hand(int digit, int shape, float side, vec4 hq, inout vec3 p, inout vec3 n) {
    if ((digit == DIGIT_INDEX || digit == DIGIT_FINGERS) && shape == SHAPE_RELAXED) {
        // at rest: the fingers gently bent, the index a little less
        mat3 r = rot_x(digit == DIGIT_INDEX ? -0.38 : -0.6);
        vec3 pivot = vec3(0.0, 0.0, KNUCKLE_Z);
        p = pivot + r * (p - pivot);
        n = r * n;
    } else if (digit == DIGIT_INDEX || digit == DIGIT_FINGERS) {
        bool curled = digit == DIGIT_INDEX ? (shape == SHAPE_FIST || shape >= SHAPE_THUMBS_UP) : shape != SHAPE_OPEN;
        if (curled) {
            mat3 r = rot_x(-1.75);
            vec3 pivot = vec3(0.0, 0.0, KNUCKLE_Z);
            p = pivot + r * ((p - pivot) * vec3(1.0, 1.0, 0.6));
            n = r * n;
        }
    } else if (digit == DIGIT_THUMB) {
        vec3 pivot = vec3(side * 0.042, 0.0, -0.005);
        float angle = -side * 1.15;                       // open: out to the side
        vec3 shift = vec3(0.0);
        mat3 r = rot_z(angle);
        if (shape == SHAPE_THUMBS_UP || shape == SHAPE_THUMBS_DOWN) {
            vec4 inv = vec4(-hq.xyz, hq.w);
            r = basis_y(qrot(inv, vec3(0.0, shape == SHAPE_THUMBS_UP ? 1.0 : -1.0, 0.0)));
        } else if (shape == SHAPE_RELAXED) {  // along the side of the index finger
            r = rot_x(-1.2) * rot_z(-side * 0.3);
            shift = vec3(-side * 0.006, -0.008, 0.0);
        } else if (shape == SHAPE_FIST || shape == SHAPE_POINT) {
            r = rot_z(side * 1.75);
            shift = vec3(0.0, -0.025, -0.05);
        }
        p = pivot + shift + r * (p - pivot);
        n = r * n;
    }
}

// The elbow of a two-bone arm from shoulder s to wrist w, bending towards pole.
vec3 elbow(vec3 s, vec3 w, vec3 pole) {
    vec3 d = w - s;
    float len = max(length(d), 1e-3);
    vec3 dir = d / len;
    float reach = UPPER_ARM + LOWER_ARM;
    if (len >= reach - 1e-3) return s + dir * (len * UPPER_ARM / reach);
    float a = (UPPER_ARM * UPPER_ARM - LOWER_ARM * LOWER_ARM + len * len) / (2.0 * len);
    float h = sqrt(max(UPPER_ARM * UPPER_ARM - a * a, 0.0));
    vec3 pp = pole - dir * dot(pole, dir);
    float pl = length(pp);
    pp = pl > 1e-4 ? pp / pl : vec3(0.0, -1.0, 0.0);
    return s + dir * a + pp * h;
}

// Place a unit +Y segment vertex between a and b (cross-section in x/z, turned by ref).
void segment(vec3 a, vec3 b, vec3 ref, inout vec3 p, inout vec3 n) {
    vec3 y = b - a;
    float len = max(length(y), 1e-4);
    y /= len;
    vec3 x = cross(y, ref);
    if (dot(x, x) < 1e-6) x = cross(y, vec3(1.0, 0.0, 0.0));
    x = normalize(x);
    vec3 z = cross(x, y);
    p = a + x * p.x + y * (p.y * len) + z * p.z;
    n = x * n.x + y * n.y + z * n.z;
}

vec2 a_uv;
vec2 a_part;

void main() {
    a_uv = a_uv_part.xy;
    a_part = a_uv_part.zw;
    int part = int(a_part.x + 0.5);
    v_source = int(a_part.y + 0.5);
    vec3 p = a_pos;
    vec3 n = a_normal;
    float scale = 1.0;
    vec3 origin = i_root.xyz;
    vec4 q = i_root_q;
    bool seated = i_right.w > 0.5;
    bool hands_only = i_extra.w > 0.5 && i_extra.w < 1.5;
    bool tagged = i_extra.w > 1.5;
    bool placed = false;  // p, n already in world space
    float id = i_color.w;
    float build = 0.94 + 0.04 * float(hash_id(id, 3) % 5);  // shoulders and waist: 0.94 .. 1.10
    int digit = int(a_uv.x + 0.5);
    v_uv = a_uv;
    if (!seated) {
        // standing: the torso up, the shins straightened into whole legs (wider at the top), the
        // shoes flat on the floor; the weight on one leg (the hips over it, the other knee eased)
        float lean = (hash_id(id, 5) % 2 == 0 ? 1.0 : -1.0) * 0.022;
        if (part == PART_ROOT && p.y > 0.45) {
            // a standing figure reads from afar by its shoulders: the chest and shoulders broader
            // and deeper (not the neck, nor the waist where the hands hang)
            float chest = smoothstep(0.62, 0.92, p.y) * (1.0 - smoothstep(1.0, 1.05, p.y));
            // and the jacket hangs straight from the chest rather than hugging the waist
            float hang = 1.0 - smoothstep(0.70, 0.86, p.y);
            p.x *= 1.0 + STAND_BROADEN * chest + 0.09 * hang;
            p.z = 0.025 + (p.z - 0.025) * (1.0 + 1.4 * STAND_BROADEN * chest);
            p.y += p.y < 0.5 ? 0.33 : 0.45;  // the jacket's skirt a little longer when standing
            p.x += lean * (1.0 - smoothstep(0.95, 1.25, p.y));
        }
        if (part == PART_LEGS) {
            float cx = p.x > 0.0 ? 0.095 : -0.095;
            p.z += 0.37;
            if (a_uv.x < 0.5) {
                float top = smoothstep(0.18, 0.52, p.y);
                // trouser legs: fuller than the seated shins, widest at the hips, with daylight
                // between them below the jacket (legs that merge read as a robe from afar)
                p.x = cx + (p.x - cx) * (1.22 + 0.25 * top);
                p.z = 0.0 + (p.z - 0.0) * (1.2 + 0.2 * top);
                p.y *= 2.05;
                p.x += lean * smoothstep(0.1, 1.0, p.y);
                if (cx * lean < 0.0) p.z -= 0.035 * sin(3.14159 * clamp(p.y / 1.0, 0.0, 1.0));  // the free knee
            } else if (cx * lean < 0.0) {
                p.z -= 0.03;
                p.x -= sign(cx) * 0.02;  // the free foot a little forward and out
            }
        }
        if (part == PART_SEATED) scale = 0.0;
    }
    if (part == PART_ROOT || part == PART_SEATED || part == PART_LEGS) {
        // the build: broader shoulders and a fuller waist (the jacket and what lies on it alike)
        if (part == PART_ROOT && p.y > 0.45) {
            p.x *= build;
            p.z = 0.02 + (p.z - 0.02) * mix(1.0, build, 0.5 * (1.0 - smoothstep(0.9, 1.4, p.y)));
        }
    }
    if (part == PART_HEAD || part == PART_HAIR_LONG || part == PART_LID || part == PART_JAW || part == PART_MOUTH
        || part == PART_PUPIL_LEFT || part == PART_PUPIL_RIGHT || part == PART_TEETH) {
        origin = i_head.xyz; q = i_head_q;
        if (part == PART_HAIR_LONG && hash_id(id, 4) % 3 != 0) scale = 0.0;
        if (part == PART_LID && i_face.w < 0.5) scale = 0.0;
        float open = clamp(i_root.w, 0.0, 1.0);
        if (part == PART_JAW) p.y -= JAW_DROP * open * a_uv.y;  // the lower lip (its corners stay) and lower teeth
        if (part == PART_TEETH && open < 0.04) scale = 0.0;  // closed lips: no white line of teeth between them
        if (part == PART_HEAD) p.y -= JAW_DROP * open * a_uv.y;  // the chin and lower face (jaw weight)
        // the inside: its top stays under the upper lip, its bottom follows the lower lip down
        if (part == PART_MOUTH) p.y = MOUTH_CENTER.y + (p.y - MOUTH_CENTER.y) * (1.0 + 0.5 * JAW_DROP * open / MOUTH_HALF) - 0.5 * JAW_DROP * open;
        if (part == PART_PUPIL_LEFT || part == PART_PUPIL_RIGHT) {
            vec3 c = EYE_CENTER * vec3(part == PART_PUPIL_LEFT ? -1.0 : 1.0, 1.0, 1.0);
            vec3 d = vec3(0.0, 0.0, -1.0);
            if (!isnan(i_face.x)) {
                vec3 to = qrot(vec4(-q.xyz, q.w), i_face.xyz - (origin + qrot(q, c)));
                if (dot(to, to) > 1e-8) d = normalize(to);
            }
            float yaw = clamp(atan(d.x, -d.z), -EYE_MAX_YAW, EYE_MAX_YAW);
            float pitch = clamp(asin(clamp(d.y, -1.0, 1.0)), -EYE_MAX_PITCH, EYE_MAX_PITCH);
            mat3 r = rot_y(-yaw) * rot_x(pitch);
            p = c + r * (p - c);
            n = r * n;
        }
    } else if (part == PART_LEFT || part == PART_RIGHT) {
        bool left = part == PART_LEFT;
        origin = left ? i_left.xyz : i_right.xyz;
        q = left ? i_left_q : i_right_q;
        scale = left ? i_head.w : i_left.w;
        shape_hand(digit, int((left ? i_extra.x : i_extra.y) + 0.5), left ? 1.0 : -1.0, q, p, n);
    } else if (part == PART_ARM_LEFT || part == PART_ARM_RIGHT) {
        bool left = part == PART_ARM_LEFT;
        float side = left ? -1.0 : 1.0;  // the avatar's left is -X (it faces -Z)
        vec3 hand = left ? i_left.xyz : i_right.xyz;
        vec4 hq = left ? i_left_q : i_right_q;
        vec3 wrist = hand + qrot(hq, WRIST);
        // the shoulder joint under the jacket's shoulder: scaled with the build as the jacket is
        // (else a broad build's shoulder pads stand out past the sleeve, a slight one's sleeve past the jacket)
        vec3 shoulder = i_root.xyz + qrot(i_root_q, vec3(side * 0.185 * build * (seated ? 1.0 : 1.0 + STAND_BROADEN), seated ? 0.945 : 1.395, 0.025));
        vec3 e = elbow(shoulder, wrist, qrot(i_root_q, vec3(side * 0.35, -1.0, 0.3)));
        vec3 ref = qrot(i_root_q, vec3(0.0, 0.0, 1.0));
        scale = left ? i_head.w : i_left.w;
        if (hands_only) {
            // first person: only the last of the forearm, thinner, so it never fills the view
            if (digit == 0) scale = 0.0;
            // mostly along the hand's own axis, so a raised hand shows a raised forearm under it
            vec3 back = e - wrist;
            vec3 axis = qrot(hq, vec3(0.0, 0.0, 1.0));
            if (dot(back, back) > 1e-8) axis = normalize(0.75 * axis + 0.25 * normalize(back));
            e = wrist + axis * FIRST_PERSON_FOREARM;
            p.xz *= 0.7;
        }
        if (digit == 0) segment(shoulder, e, ref, p, n);
        else segment(e, wrist, ref, p, n);
        placed = true;
    } else if (part == PART_INDICATOR) {
        // the halo rests level just over the crown (it stays clear of the hair as the head nods); it widens a little with the voice level
        origin = i_head.xyz;
        scale = i_root.w > 0.0 ? 1.0 : 0.0;
        p.xz *= 1.0 + 0.12 * i_root.w;
    } else if (part == PART_PLACARD && !seated) {
        // standing: the name floats above the head like a label (unless a name tag says it)
        origin = i_head.xyz + vec3(0.0, 0.36, 0.0);
        p = (p - PLACARD_OFFSET) * 0.8;
        if (tagged) scale = 0.0;
    } else if (part == PART_TAG) {
        // the name tag just above the head, upright, turned about the vertical to the camera
        vec3 c = i_head.xyz + vec3(0.0, TAG_ABOVE, 0.0);
        vec3 f = u_camera.xyz - c;
        f.y = 0.0;
        float dist = length(f);
        f = dist > 1e-4 ? f / dist : vec3(0.0, 0.0, 1.0);
        vec3 r = cross(vec3(0.0, 1.0, 0.0), f);
        // shown for whoever faces the viewer, and for those turned away from 3 m on (a tag right
        // in front of a seat would cover the rostrum; their desk placard says who they are)
        bool away = dot(qrot(i_root_q, vec3(0.0, 0.0, -1.0)), f) < -0.2;
        bool show = tagged && dist > TAG_NEAREST && dist < TAG_FARTHEST && !(away && dist < TAG_AWAY_NEAREST);
        p = c + (r * p.x + vec3(0.0, 1.0, 0.0) * p.y) * (show ? 1.0 : 0.0);
        n = f;
        float h = i_placard.w - i_placard.y;
        v_uv = vec2(mix(i_placard.x, i_placard.z, a_uv.x),
                    mix(i_placard.w + 0.03 * h, i_placard.y + h / PLACARD_SHARE, a_uv.y));
        placed = true;
    } else if (part == PART_ICON) {
        // a badge above the head (above the name label when standing), turned to the camera
        vec3 c = i_head.xyz + vec3(0.0, seated ? 0.42 : 0.66, 0.0);
        vec3 f = u_camera.xyz - c;
        f = dot(f, f) > 1e-8 ? normalize(f) : vec3(0.0, 0.0, 1.0);
        vec3 r = cross(vec3(0.0, 1.0, 0.0), f);
        r = dot(r, r) > 1e-6 ? normalize(r) : vec3(1.0, 0.0, 0.0);
        vec3 u = cross(f, r);
        if (tagged) c.y = i_head.y + TAG_ABOVE + 0.21;  // just above the name tag (whose label it replaces when standing)
        float icon = i_extra.z;
        float s = icon >= 0.0 ? ICON_SIZE : 0.0;
        p = c + (r * p.x + u * p.y) * s;
        n = f;
        float col = mod(icon, u_icon_grid.x);
        float row = floor(icon / u_icon_grid.x + 1e-3);
        v_uv = (vec2(col, row) + mix(vec2(0.004), vec2(0.996), a_uv)) * u_icon_grid.yz;
        placed = true;
    }
    if (hands_only && part != PART_LEFT && part != PART_RIGHT && part != PART_ARM_LEFT && part != PART_ARM_RIGHT) {
        scale = 0.0;
    }
    vec3 world;
    if (placed) {
        world = scale > 0.0 ? p : i_root.xyz;
        v_normal = n;
    } else {
        world = origin + qrot(q, p * scale);
        v_normal = qrot(q, n);
    }
    v_pos = world;
    if (v_source == 2 && part != PART_TAG) v_uv = mix(i_placard.xy, i_placard.zw, a_uv);
    // the tie and lapel pin: the delegation's colour as a silk tie wears it, deeper and quieter
    // than the flag (a full-strength mint or magenta tie is a costume, not a suit)
    if (v_source == SRC_DELEGATION) v_color = mix(vec3(dot(i_color.rgb, vec3(0.2126, 0.7152, 0.0722))), i_color.rgb, 0.75) * 0.55 * a_color;
    else if (v_source == SRC_SKIN) v_color = SKINS[hands_only ? 0 : hash_id(id, 0) % 6] * a_color;
    else if (v_source == SRC_HAIR) v_color = HAIRS[hash_id(id, 1) % 5] * a_color;
    else if (v_source == SRC_SUIT) v_color = (hands_only ? i_color.rgb : SUITS[hash_id(id, 2) % 5]) * a_color;  // own sleeves: their colour
    else v_color = a_color;
    gl_Position = u_view_proj * vec4(world, 1.0);
}
