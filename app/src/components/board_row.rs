//! One board in the gallery's board list: its name and image count, renamed in place (the name
//! turns into a field; Enter saves, Escape or "Cancel" leaves it) or deleted.

use leptos::{prelude::*, task::spawn_local};

use crate::{api::tenant_fns::ui_rename_board, auth::Auth};
use contract::{boards::Board, error::UiError};

/// A board's row. `changed` runs after a rename is saved; `delete` asks to delete it.
#[component]
pub fn BoardRow(
    board: Board,
    error: RwSignal<Option<UiError>>,
    changed: impl Fn() + Copy + Send + Sync + 'static,
    delete: impl Fn(contract::ids::BoardId) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let auth = Auth::get();
    let id = board.board_id;
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(board.name.clone());
    let name = board.name;
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new_name = draft.get_untracked();
        spawn_local(async move {
            match auth.call(|token| ui_rename_board(token, id, new_name.clone())).await {
                Ok(_) => {
                    editing.set(false);
                    changed();
                }
                // The field stays open with what was typed, so nothing is lost.
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let display = {
        let name = name.clone();
        move || {
            view! {
                <span>{name.clone()}</span>
                <span class="muted" data-testid="board-count">{format!(" {}", board.image_count)}</span>
                <button type="button" class="button small" data-testid="rename-board"
                    on:click=move |_| editing.set(true)>"Rename"</button>
                <button type="button" class="button small" on:click=move |_| delete(id)>"Delete"</button>
            }
        }
    };
    let form = move || {
        let name = name.clone();
        view! {
            <form class="inline-form" on:submit=save
                on:keydown=move |ev| if ev.key() == "Escape" { draft.set(name.clone()); editing.set(false); }>
                <input type="text" maxlength="100" required aria-label="Board name" data-testid="board-name-input"
                    bind:value=draft/>
                <button type="submit" class="button small" data-testid="save-board-name">"Save"</button>
                <button type="button" class="button small" on:click=move |_| editing.set(false)>"Cancel"</button>
            </form>
        }
    };
    view! {
        <li data-testid="board">
            {move || if editing.get() { form().into_any() } else { display().into_any() }}
        </li>
    }
}
