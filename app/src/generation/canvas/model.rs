//! The canvas as data, without a browser: the base image's size, the generation box, the view's
//! zoom and pan, the mask's strokes with undo and redo, and what a generation asks the server
//! for. The drawing side ([`super::surface`]) replays this onto `<canvas>` elements.

use contract::generation::{Region, fit_size};

/// Box sides and positions snap to this many pixels (the VAE works in blocks of 8).
pub const SNAP: i32 = 8;
/// The smallest generation box side.
pub const MIN_BOX: i32 = 64;
/// Zoom bounds.
pub const ZOOM_RANGE: (f64, f64) = (0.25, 16.0);

/// A rectangle in canvas pixels (the base image's top left is the origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

impl Rect {
    /// The smallest rectangle holding both.
    #[must_use]
    pub fn union(self, other: Self) -> Self {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        let right = (self.x + self.w).max(other.x + other.w);
        let bottom = (self.y + self.h).max(other.y + other.h);
        Self { x, y, w: right - x, h: bottom - y }
    }

    /// Whether the point lies inside.
    #[must_use]
    pub fn contains(self, (px, py): (f64, f64)) -> bool {
        px >= f64::from(self.x)
            && py >= f64::from(self.y)
            && px < f64::from(self.x + self.w)
            && py < f64::from(self.y + self.h)
    }

    /// Whether the point is on the bottom-right resize handle (`reach` canvas pixels around it).
    #[must_use]
    pub fn on_handle(self, (px, py): (f64, f64), reach: f64) -> bool {
        (px - f64::from(self.x + self.w)).abs() <= reach && (py - f64::from(self.y + self.h)).abs() <= reach
    }
}

fn snap(v: f64) -> i32 {
    #[allow(clippy::cast_possible_truncation)] // canvas coordinates are small
    let snapped = (v / f64::from(SNAP)).round() as i32 * SNAP;
    snapped
}

/// Screen ↔ canvas: `screen = canvas × zoom + pan`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Screen pixels per canvas pixel.
    pub zoom: f64,
    /// Screen position of the canvas origin.
    pub pan: (f64, f64),
}

impl Default for View {
    fn default() -> Self {
        Self { zoom: 1.0, pan: (0.0, 0.0) }
    }
}

impl View {
    /// The canvas point under a screen point.
    #[must_use]
    pub fn to_canvas(&self, (sx, sy): (f64, f64)) -> (f64, f64) {
        ((sx - self.pan.0) / self.zoom, (sy - self.pan.1) / self.zoom)
    }

    /// Zooms by `factor` keeping the canvas point under `screen` where it is.
    #[must_use]
    pub fn zoomed(&self, factor: f64, screen: (f64, f64)) -> Self {
        let zoom = (self.zoom * factor).clamp(ZOOM_RANGE.0, ZOOM_RANGE.1);
        let (cx, cy) = self.to_canvas(screen);
        Self { zoom, pan: (screen.0 - cx * zoom, screen.1 - cy * zoom) }
    }

    /// The view that shows `area` whole and centred in a `width × height` screen, with a margin.
    #[must_use]
    pub fn fitting(area: Rect, (width, height): (f64, f64)) -> Self {
        let margin = 24.0;
        let zoom = ((width - 2.0 * margin) / f64::from(area.w.max(1)))
            .min((height - 2.0 * margin) / f64::from(area.h.max(1)))
            .clamp(ZOOM_RANGE.0, ZOOM_RANGE.1);
        let pan = (
            (width - f64::from(area.w) * zoom) / 2.0 - f64::from(area.x) * zoom,
            (height - f64::from(area.h) * zoom) / 2.0 - f64::from(area.y) * zoom,
        );
        Self { zoom, pan }
    }
}

/// A mask stroke: a path painted (or erased) with a round brush.
#[derive(Debug, Clone, PartialEq)]
pub struct Stroke {
    /// Canvas points along the path.
    pub points: Vec<(f64, f64)>,
    /// Brush diameter in canvas pixels.
    pub size: f64,
    /// 0 (soft edge) to 1 (hard edge).
    pub hardness: f64,
    /// Erases the mask instead of painting it.
    pub erase: bool,
}

/// The mask's strokes, with the ones undone kept for redo until a new stroke is made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strokes {
    done: Vec<Stroke>,
    undone: Vec<Stroke>,
}

impl Strokes {
    /// Adds a finished stroke; what was undone cannot be redone after it.
    pub fn push(&mut self, stroke: Stroke) {
        self.done.push(stroke);
        self.undone.clear();
    }

    /// Takes back the last stroke; whether there was one.
    pub fn undo(&mut self) -> bool {
        self.done.pop().map(|s| self.undone.push(s)).is_some()
    }

    /// Puts back the last stroke taken back; whether there was one.
    pub fn redo(&mut self) -> bool {
        self.undone.pop().map(|s| self.done.push(s)).is_some()
    }

    /// The strokes in effect, oldest first.
    #[must_use]
    pub fn done(&self) -> &[Stroke] {
        &self.done
    }

    /// Whether anything is painted (an eraser stroke alone paints nothing).
    #[must_use]
    pub fn paints(&self) -> bool {
        self.done.iter().any(|s| !s.erase)
    }

    /// Whether [`Strokes::undo`] / [`Strokes::redo`] would do something.
    #[must_use]
    pub fn can(&self) -> (bool, bool) {
        (!self.done.is_empty(), !self.undone.is_empty())
    }

    /// Forgets every stroke (a new base image).
    pub fn clear(&mut self) {
        self.done.clear();
        self.undone.clear();
    }
}

/// The box dragged or resized by a canvas-space movement, snapped to [`SNAP`].
#[must_use]
pub fn dragged(start: Rect, (dx, dy): (f64, f64), resize: bool) -> Rect {
    if resize {
        Rect {
            w: snap(f64::from(start.w) + dx).max(MIN_BOX),
            h: snap(f64::from(start.h) + dy).max(MIN_BOX),
            ..start
        }
    } else {
        Rect { x: snap(f64::from(start.x) + dx), y: snap(f64::from(start.y) + dy), ..start }
    }
}

/// The box moved so that its left half covers the base's right edge (outpainting to the right).
#[must_use]
pub fn extended_right(base: (i32, i32), current: Rect) -> Rect {
    Rect { x: snap(f64::from(base.0 - current.w / 2)), ..current }
}

/// What a generation of `area` asks for, given the base image's size (none: text-to-image)
/// and the plan's largest side: the region of the base and the size to generate it at.
#[must_use]
pub fn request_geometry(base: Option<(i32, i32)>, area: Rect, max_side: u32) -> (Option<Region>, (u32, u32)) {
    let to_u32 = |v: i32| u32::try_from(v.max(1)).unwrap_or(1);
    let size = fit_size(to_u32(area.w), to_u32(area.h), max_side);
    let region = base.map(|_| Region {
        x: i64::from(area.x),
        y: i64::from(area.y),
        width: i64::from(area.w),
        height: i64::from(area.h),
    });
    (region, size)
}

/// The new base after accepting a result over `area`: the union of the old base and the area, and
/// where the old base's origin lands in it.
#[must_use]
pub fn accepted(base: Option<(i32, i32)>, area: Rect) -> (Rect, (i32, i32)) {
    let whole = match base {
        Some((w, h)) => Rect { x: 0, y: 0, w, h }.union(area),
        None => area,
    };
    (whole, (-whole.x, -whole.y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stroke(erase: bool) -> Stroke {
        Stroke { points: vec![(1.0, 1.0)], size: 8.0, hardness: 1.0, erase }
    }

    #[test]
    fn undo_and_redo_walk_the_strokes_and_a_new_stroke_ends_redo() {
        let mut strokes = Strokes::default();
        assert_eq!(strokes.can(), (false, false));
        strokes.push(stroke(false));
        strokes.push(stroke(true));
        assert!(strokes.undo());
        assert_eq!((strokes.done().len(), strokes.can()), (1, (true, true)));
        assert!(strokes.redo() && !strokes.redo());
        assert_eq!(strokes.done().len(), 2);
        assert!(strokes.undo() && strokes.undo() && !strokes.undo());
        assert!(!strokes.paints());
        strokes.redo();
        strokes.push(stroke(true));
        assert_eq!(strokes.can(), (true, false), "a new stroke forgets what was undone");
        assert!(strokes.paints());
    }

    #[test]
    fn the_view_maps_screen_to_canvas_and_zooms_about_the_pointer() {
        let view = View { zoom: 2.0, pan: (10.0, 20.0) };
        assert_eq!(view.to_canvas((30.0, 60.0)), (10.0, 20.0));
        let zoomed = view.zoomed(2.0, (30.0, 60.0));
        assert_eq!(zoomed.to_canvas((30.0, 60.0)), (10.0, 20.0), "the point under the pointer stays");
        assert_eq!(view.zoomed(1000.0, (0.0, 0.0)).zoom, ZOOM_RANGE.1);
        let fit = View::fitting(Rect { x: 0, y: 0, w: 64, h: 64 }, (400.0, 200.0));
        assert_eq!(fit.zoom, (200.0 - 48.0) / 64.0);
        assert_eq!(fit.to_canvas((200.0, 100.0)), (32.0, 32.0), "centred");
    }

    #[test]
    fn the_box_moves_and_resizes_in_steps_of_eight_and_never_below_the_minimum() {
        let start = Rect { x: 0, y: 0, w: 64, h: 64 };
        assert_eq!(dragged(start, (13.0, -3.0), false), Rect { x: 16, y: 0, w: 64, h: 64 });
        assert_eq!(dragged(start, (20.0, -40.0), true), Rect { x: 0, y: 0, w: 88, h: 64 });
        assert!(start.on_handle((63.0, 65.0), 4.0) && !start.on_handle((32.0, 32.0), 4.0));
        assert!(start.contains((0.0, 63.9)) && !start.contains((64.0, 0.0)));
    }

    #[test]
    fn extending_right_then_accepting_grows_the_base() {
        let area = extended_right((64, 64), Rect { x: 0, y: 0, w: 64, h: 64 });
        assert_eq!(area, Rect { x: 32, y: 0, w: 64, h: 64 });
        let (region, size) = request_geometry(Some((64, 64)), area, 768);
        assert_eq!(region, Some(Region { x: 32, y: 0, width: 64, height: 64 }));
        assert_eq!(size, (64, 64));
        assert_eq!(accepted(Some((64, 64)), area), (Rect { x: 0, y: 0, w: 96, h: 64 }, (0, 0)));
        let left = Rect { x: -32, y: 8, w: 64, h: 64 };
        assert_eq!(accepted(Some((64, 64)), left), (Rect { x: -32, y: 0, w: 96, h: 72 }, (32, 0)));
        assert_eq!(request_geometry(None, Rect { x: 0, y: 0, w: 1024, h: 512 }, 768), (None, (768, 384)));
    }
}
