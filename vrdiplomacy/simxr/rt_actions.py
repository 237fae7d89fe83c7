"""The simulated runtime's action system: action sets, suggested bindings, interaction profiles,
xrSyncActions and the action state getters, haptics."""

from __future__ import annotations

import ctypes
from typing import Any

from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.simxr import abi
from vrdiplomacy.simxr.objects import Action, ActionSet, Instance, Session, Space, XrFail
from vrdiplomacy.simxr.profiles import PROFILES, SIMPLE, Source, resolve

_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
HANDS = ("left", "right")
BOOL_THRESHOLD = 0.5


def _check_name(raw: bytes) -> str:
    name = raw.decode(errors="replace")
    if not name or not set(name) <= _NAME_OK:
        raise XrFail(abi.ERROR_PATH_FORMAT_INVALID, f"bad name {name!r}")
    return name


class ActionsMixin:
    _objects: dict[int, Any]

    def _actions_init(self) -> None:
        # instance -> profile -> list of (action handle, Source)
        self.suggested: dict[int, dict[str, list[tuple[int, Source, str]]]] = {}
        self.haptics: list[dict[str, Any]] = []

    def xrCreateActionSet(self, instance: int, info_p: Any, out: Any) -> int:
        inst: Instance = self._get(instance, Instance)  # type: ignore[attr-defined]
        info = info_p.contents
        name = _check_name(info.actionSetName)
        if not info.localizedActionSetName:
            raise XrFail(abi.ERROR_LOCALIZED_NAME_INVALID)
        for o in self._objects.values():
            if isinstance(o, ActionSet) and o.instance == inst.handle and o.name == name:
                raise XrFail(abi.ERROR_NAME_DUPLICATED, name)
        out[0] = self._new_handle(lambda h: ActionSet(h, inst.handle, name, int(info.priority)))  # type: ignore[attr-defined]
        return abi.SUCCESS

    def xrDestroyActionSet(self, handle: int) -> int:
        aset: ActionSet = self._get(handle, ActionSet)  # type: ignore[attr-defined]
        for a in aset.actions:
            self._objects.pop(a, None)
        self._objects.pop(aset.handle, None)
        return abi.SUCCESS

    def xrCreateAction(self, action_set: int, info_p: Any, out: Any) -> int:
        aset: ActionSet = self._get(action_set, ActionSet)  # type: ignore[attr-defined]
        if aset.attached:
            raise XrFail(abi.ERROR_ACTIONSETS_ALREADY_ATTACHED)
        info = info_p.contents
        name = _check_name(info.actionName)
        if info.actionType not in (abi.ACTION_BOOLEAN, abi.ACTION_FLOAT, abi.ACTION_VECTOR2F, abi.ACTION_POSE, abi.ACTION_VIBRATION):
            raise XrFail(abi.ERROR_VALIDATION_FAILURE, "action type")
        for h in aset.actions:
            if self._objects[h].name == name:
                raise XrFail(abi.ERROR_NAME_DUPLICATED, name)
        subs = tuple(int(info.subactionPaths[i]) for i in range(info.countSubactionPaths))
        for p in subs:
            if self.path_name(p) not in ("/user/hand/left", "/user/hand/right", "/user/head", "/user/gamepad"):  # type: ignore[attr-defined]
                raise XrFail(abi.ERROR_PATH_UNSUPPORTED, self.path_name(p))  # type: ignore[attr-defined]
        h = self._new_handle(lambda h: Action(h, aset.handle, name, int(info.actionType), subs))  # type: ignore[attr-defined]
        aset.actions.append(h)
        out[0] = h
        return abi.SUCCESS

    def xrDestroyAction(self, handle: int) -> int:
        a: Action = self._get(handle, Action)  # type: ignore[attr-defined]
        aset = self._objects.get(a.action_set)
        if isinstance(aset, ActionSet) and a.handle in aset.actions:
            aset.actions.remove(a.handle)
        self._objects.pop(a.handle, None)
        return abi.SUCCESS

    def xrSuggestInteractionProfileBindings(self, instance: int, info_p: Any) -> int:
        inst: Instance = self._get(instance, Instance)  # type: ignore[attr-defined]
        info = info_p.contents
        profile = self.path_name(info.interactionProfile)  # type: ignore[attr-defined]
        if profile not in PROFILES or profile in self.settings.unsupported_profiles:  # type: ignore[attr-defined]
            raise XrFail(abi.ERROR_PATH_UNSUPPORTED, f"unknown interaction profile {profile}")
        if info.countSuggestedBindings == 0:
            raise XrFail(abi.ERROR_VALIDATION_FAILURE, "no bindings")
        out: list[tuple[int, Source, str]] = []
        for i in range(info.countSuggestedBindings):
            b = info.suggestedBindings[i]
            action: Action = self._get(b.action, Action)  # type: ignore[attr-defined]
            aset = self._objects[action.action_set]
            if aset.attached:
                raise XrFail(abi.ERROR_ACTIONSETS_ALREADY_ATTACHED)
            path = self.path_name(b.binding)  # type: ignore[attr-defined]
            src = resolve(profile, path)
            if src is None:
                raise XrFail(abi.ERROR_PATH_UNSUPPORTED, f"{path} is not in {profile}")
            out.append((action.handle, src, path))
        self.suggested.setdefault(inst.handle, {})[profile] = out
        return abi.SUCCESS

    def xrAttachSessionActionSets(self, session: int, info_p: Any) -> int:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        if s.attached_sets:
            raise XrFail(abi.ERROR_ACTIONSETS_ALREADY_ATTACHED)
        info = info_p.contents
        sets = []
        for i in range(info.countActionSets):
            aset: ActionSet = self._get(info.actionSets[i], ActionSet)  # type: ignore[attr-defined]
            aset.attached = True
            sets.append(aset.handle)
        s.attached_sets = tuple(sets)
        self._assign_profile(s)
        return abi.SUCCESS

    def _assign_profile(self, s: Session) -> None:
        """Pick the session's interaction profile for the device's controllers, as a runtime would:
        the device's own profile when the app suggested bindings for it, else the simple controller."""
        if not s.attached_sets:
            return
        suggested = self.suggested.get(s.instance, {})
        dev = self.device_profile  # type: ignore[attr-defined]
        profile = dev if dev in suggested else (SIMPLE if SIMPLE in suggested else "")
        if profile != s.profile:
            s.profile = profile
            self._queue(abi.EventDataInteractionProfileChanged(type=abi.ST.EVENT_DATA_INTERACTION_PROFILE_CHANGED,  # type: ignore[attr-defined]
                                                                next=None, session=s.handle))
            self.session_events.append((self.frame_index, f"INTERACTION_PROFILE_CHANGED {profile or 'none'}"))  # type: ignore[attr-defined]

    def _bindings(self, s: Session, action: int) -> list[Source]:
        if not s.profile:
            return []
        return [src for a, src, _ in self.suggested.get(s.instance, {}).get(s.profile, []) if a == action]

    def xrGetCurrentInteractionProfile(self, session: int, top: int, out_p: Any) -> int:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        if not s.attached_sets:
            raise XrFail(abi.ERROR_ACTIONSET_NOT_ATTACHED)
        name = self.path_name(top)  # type: ignore[attr-defined]
        if name not in ("/user/hand/left", "/user/hand/right", "/user/head", "/user/gamepad"):
            raise XrFail(abi.ERROR_PATH_UNSUPPORTED)
        out_p.contents.interactionProfile = self.path(s.profile) if s.profile and name.startswith("/user/hand/") else 0  # type: ignore[attr-defined]
        return abi.SUCCESS

    # sync and state ---------------------------------------------------------------------------
    def _value(self, s: Session, action: Action, hand: str, frame: int) -> Any:
        dev = getattr(self.timeline.state_at(frame), hand)  # type: ignore[attr-defined]
        srcs = [b for b in self._bindings(s, action.handle) if b.hand == hand]
        if not srcs or not dev.active:
            return None
        if action.type == abi.ACTION_BOOLEAN:
            return any(_as_bool(getattr(dev, b.field), b.kind) for b in srcs)
        if action.type == abi.ACTION_FLOAT:
            return max(_as_float(getattr(dev, b.field), b.kind) for b in srcs)
        if action.type == abi.ACTION_VECTOR2F:
            vals = [getattr(dev, b.field) for b in srcs if b.kind == "vec2"]
            return max(vals, key=lambda v: v[0] * v[0] + v[1] * v[1]) if vals else None
        if action.type == abi.ACTION_POSE:
            return True if any(b.kind == "pose" for b in srcs) else None
        return True if any(b.kind == "haptic" for b in srcs) else None

    def xrSyncActions(self, session: int, info_p: Any) -> int:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        info = info_p.contents
        active = []
        for i in range(info.countActiveActionSets):
            aas = info.activeActionSets[i]
            aset = self._get(aas.actionSet, ActionSet)  # type: ignore[attr-defined]
            if aset.handle not in s.attached_sets:
                raise XrFail(abi.ERROR_ACTIONSET_NOT_ATTACHED)
            active.append(aset.handle)
        if s.state != abi.STATE_FOCUSED:
            for key in list(s.synced):
                s.synced[key] = None
            return abi.SESSION_NOT_FOCUSED
        frame = self.frame_index  # type: ignore[attr-defined]
        now = self.now_ns()  # type: ignore[attr-defined]
        for h in active:
            for ah in self._objects[h].actions:
                a: Action = self._objects[ah]
                for hand in HANDS:
                    v = self._value(s, a, hand, frame)
                    key = (ah, hand)
                    old = s.synced.get(key)
                    changed = old is not None and v is not None and v != old
                    s.changed[key] = changed
                    if changed or (old is None and v is not None):
                        s.change_time[key] = now
                    s.synced[key] = v
        s.active_sets = tuple(active)
        s.sync_frame = frame
        return abi.SUCCESS

    def _state(self, session: int, info_p: Any, kind: int) -> tuple[Session, Action, Any, bool, int]:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        info = info_p.contents
        a: Action = self._get(info.action, Action)  # type: ignore[attr-defined]
        if a.type != kind:
            raise XrFail(abi.ERROR_ACTION_TYPE_MISMATCH)
        if a.action_set not in s.attached_sets:
            raise XrFail(abi.ERROR_ACTIONSET_NOT_ATTACHED)
        sub = int(info.subactionPath)
        if sub:
            if sub not in a.subaction_paths:
                raise XrFail(abi.ERROR_PATH_UNSUPPORTED)
            hands: tuple[str, ...] = (self.path_name(sub).rsplit("/", 1)[-1],)  # type: ignore[attr-defined]
        else:
            hands = HANDS
        vals = [(s.synced.get((a.handle, h)), s.changed.get((a.handle, h), False), s.change_time.get((a.handle, h), 0)) for h in hands]
        vals = [v for v in vals if v[0] is not None]
        if not vals:
            return s, a, None, False, 0
        if kind == abi.ACTION_BOOLEAN:
            best = max(vals, key=lambda v: bool(v[0]))
        elif kind == abi.ACTION_FLOAT:
            best = max(vals, key=lambda v: v[0])
        elif kind == abi.ACTION_VECTOR2F:
            best = max(vals, key=lambda v: v[0][0] ** 2 + v[0][1] ** 2)
        else:
            best = vals[0]
        return s, a, best[0], bool(best[1]), int(best[2])

    def xrGetActionStateBoolean(self, session: int, info_p: Any, out_p: Any) -> int:
        _, _, v, changed, t = self._state(session, info_p, abi.ACTION_BOOLEAN)
        o = out_p.contents
        o.isActive = int(v is not None)
        o.currentState = int(bool(v))
        o.changedSinceLastSync = int(changed)
        o.lastChangeTime = t
        return abi.SUCCESS

    def xrGetActionStateFloat(self, session: int, info_p: Any, out_p: Any) -> int:
        _, _, v, changed, t = self._state(session, info_p, abi.ACTION_FLOAT)
        o = out_p.contents
        o.isActive = int(v is not None)
        o.currentState = float(v or 0.0)
        o.changedSinceLastSync = int(changed)
        o.lastChangeTime = t
        return abi.SUCCESS

    def xrGetActionStateVector2f(self, session: int, info_p: Any, out_p: Any) -> int:
        _, _, v, changed, t = self._state(session, info_p, abi.ACTION_VECTOR2F)
        o = out_p.contents
        o.isActive = int(v is not None)
        o.currentState.x, o.currentState.y = (float(v[0]), float(v[1])) if v is not None else (0.0, 0.0)
        o.changedSinceLastSync = int(changed)
        o.lastChangeTime = t
        return abi.SUCCESS

    def xrGetActionStatePose(self, session: int, info_p: Any, out_p: Any) -> int:
        _, _, v, _, _ = self._state(session, info_p, abi.ACTION_POSE)
        out_p.contents.isActive = int(v is not None)
        return abi.SUCCESS

    def _pose_source(self, space: Space, frame: int) -> Pose | None:
        s = self._objects.get(space.session)
        if not isinstance(s, Session):
            return None
        action = self._objects.get(space.action)
        if not isinstance(action, Action) or action.action_set not in s.attached_sets:
            return None
        hands = (self.path_name(space.subaction).rsplit("/", 1)[-1],) if space.subaction else HANDS  # type: ignore[attr-defined]
        state = self.timeline.state_at(frame)  # type: ignore[attr-defined]
        for b in self._bindings(s, action.handle):
            if b.kind == "pose" and b.hand in hands:
                dev = getattr(state, b.hand)
                if dev.active:
                    return getattr(dev, b.field)
        return None

    def xrEnumerateBoundSourcesForAction(self, session: int, info_p: Any, cap: int, count: Any, out: Any) -> int:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        a: Action = self._get(info_p.contents.action, Action)  # type: ignore[attr-defined]
        if a.action_set not in s.attached_sets:
            raise XrFail(abi.ERROR_ACTIONSET_NOT_ATTACHED)
        paths = [self.path(p) for h, _, p in self.suggested.get(s.instance, {}).get(s.profile, []) if h == a.handle]  # type: ignore[attr-defined]
        return self._fill(cap, count, out, paths)  # type: ignore[attr-defined]

    def xrGetInputSourceLocalizedName(self, session: int, info_p: int, cap: int, count: Any, buf: int) -> int:
        self._session(session)  # type: ignore[attr-defined]
        # XrInputSourceLocalizedNameGetInfo: type, next, sourcePath, whichComponents
        source = ctypes.c_uint64.from_address(info_p + 16).value
        name = self.path_name(source)  # type: ignore[attr-defined]
        if not name:
            raise XrFail(abi.ERROR_PATH_INVALID)
        return abi.write_string(buf or 0, cap, count, name)

    def _haptic(self, session: int, info_p: Any) -> tuple[Session, Action, tuple[str, ...]]:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        info = info_p.contents
        a: Action = self._get(info.action, Action)  # type: ignore[attr-defined]
        if a.type != abi.ACTION_VIBRATION:
            raise XrFail(abi.ERROR_ACTION_TYPE_MISMATCH)
        if a.action_set not in s.attached_sets:
            raise XrFail(abi.ERROR_ACTIONSET_NOT_ATTACHED)
        sub = int(info.subactionPath)
        hands = (self.path_name(sub).rsplit("/", 1)[-1],) if sub else HANDS  # type: ignore[attr-defined]
        return s, a, hands

    def xrApplyHapticFeedback(self, session: int, info_p: Any, vib_p: Any) -> int:
        s, a, hands = self._haptic(session, info_p)
        if s.state != abi.STATE_FOCUSED:
            return abi.SESSION_NOT_FOCUSED
        v = ctypes.cast(vib_p, ctypes.POINTER(abi.HapticVibration)).contents
        for hand in hands:
            if any(b.kind == "haptic" and b.hand == hand for b in self._bindings(s, a.handle)):
                self.haptics.append({"frame": self.frame_index, "hand": hand, "duration_ns": int(v.duration),  # type: ignore[attr-defined]
                                     "frequency": float(v.frequency), "amplitude": float(v.amplitude)})
        return abi.SUCCESS

    def xrStopHapticFeedback(self, session: int, info_p: Any) -> int:
        s, _, _ = self._haptic(session, info_p)
        return abi.SUCCESS if s.state == abi.STATE_FOCUSED else abi.SESSION_NOT_FOCUSED


def _as_bool(v: Any, kind: str) -> bool:
    if kind == "float":
        return float(v) >= BOOL_THRESHOLD
    if kind in ("x", "y"):
        return abs(float(v[0 if kind == "x" else 1])) >= BOOL_THRESHOLD
    return bool(v)


def _as_float(v: Any, kind: str) -> float:
    if kind == "bool":
        return 1.0 if v else 0.0
    if kind in ("x", "y"):
        return float(v[0 if kind == "x" else 1])
    if kind == "vec2":
        return 0.0
    return float(v)
