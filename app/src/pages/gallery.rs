//! `/gallery`: my images as a thumbnail grid, newest first, a page at a time ("Load more"),
//! filtered by board or starred; star, download, move to a board and delete (after a confirm)
//! from each card; boards made, renamed and deleted beside the grid.

use contract::ids::{BoardId, ImageId};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use crate::{
    api::{
        gallery_fns::{ui_delete_image, ui_images, ui_update_image},
        tenant_fns::{ui_boards, ui_create_board, ui_delete_board},
    },
    auth::{Auth, RequireAuth},
    components::BoardRow,
};
use contract::{
    boards::Board,
    error::UiError,
    images::{DEFAULT_PAGE, ImageFilter, ImageInfo, UpdateImage},
};

/// The gallery page.
#[component]
pub fn GalleryPage() -> impl IntoView {
    view! {
        <Title text="Gallery"/>
        <RequireAuth>
            <h1>"Gallery"</h1>
            <Gallery/>
        </RequireAuth>
    }
}

/// Asks the browser to confirm `question` (always yes on the server, where nothing is clicked).
pub fn confirmed(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        window().confirm_with_message(question).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        true
    }
}

#[component]
#[allow(clippy::too_many_lines)] // The grid and its filters share their signals.
fn Gallery() -> impl IntoView {
    let auth = Auth::get();
    let boards = RwSignal::new(Vec::<Board>::new());
    let items = RwSignal::new(Vec::<ImageInfo>::new());
    let total = RwSignal::new(None::<i64>);
    let board_filter = RwSignal::new(String::new());
    let starred_only = RwSignal::new(false);
    let error = RwSignal::new(None::<UiError>);
    let new_board = RwSignal::new(String::new());

    let load_boards = move || {
        spawn_local(async move {
            match auth.call(ui_boards).await {
                Ok(list) => boards.set(list),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    // `more`: append the next page; otherwise start again from the newest.
    let load = move |more: bool| {
        let filter = ImageFilter {
            offset: if more { i64::try_from(items.get_untracked().len()).unwrap_or(0) } else { 0 },
            limit: DEFAULT_PAGE,
            board_id: board_filter.get_untracked().parse().ok(),
            starred: starred_only.get_untracked(),
        };
        spawn_local(async move {
            match auth.call(|token| ui_images(token, filter.clone())).await {
                Ok(page) => {
                    total.set(Some(page.total));
                    if more {
                        items.update(|list| list.extend(page.items));
                    } else {
                        items.set(page.items);
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        load_boards();
        load(false);
    });

    let replace = move |image: ImageInfo| {
        items.update(|list| {
            if let Some(slot) = list.iter_mut().find(|i| i.image_id == image.image_id) {
                *slot = image;
            }
        });
    };
    let edit = move |id: ImageId, change: UpdateImage| {
        spawn_local(async move {
            match auth.call(|token| ui_update_image(token, id, change.clone())).await {
                Ok(image) => {
                    replace(image);
                    if change.board_id.is_some() {
                        load_boards();
                    }
                    // It may no longer match the filter.
                    if board_filter.get_untracked().parse::<BoardId>().is_ok() || starred_only.get_untracked()
                    {
                        load(false);
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete = move |id: ImageId| {
        if !confirmed("Delete this image? This cannot be undone.") {
            return;
        }
        spawn_local(async move {
            match auth.call(|token| ui_delete_image(token, id)).await {
                Ok(()) => {
                    items.update(|list| list.retain(|i| i.image_id != id));
                    total.update(|t| *t = t.map(|n| n - 1));
                    load_boards();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let file_input = NodeRef::<leptos::html::Input>::new();
    let uploading = RwSignal::new(false);
    let upload = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let Some(file) =
                file_input.get_untracked().and_then(|input| input.files()).and_then(|files| files.get(0))
            else {
                error.set(Some(UiError::Invalid {
                    status: 422,
                    field: "file".into(),
                    message: "Choose an image file first.".into(),
                }));
                return;
            };
            let board = board_filter.get_untracked().parse::<BoardId>().ok();
            uploading.set(true);
            spawn_local(async move {
                let name = file.name();
                let result = auth
                    .call(|token| {
                        use crate::components::upload::{Purpose, upload_image};
                        upload_image(token, file.clone().into(), &name, board, Purpose::Gallery)
                    })
                    .await;
                uploading.set(false);
                match result {
                    Ok(_) => {
                        error.set(None);
                        if let Some(input) = file_input.get_untracked() {
                            input.set_value("");
                        }
                        load(false);
                        load_boards();
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let create_board = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_board.get_untracked();
        spawn_local(async move {
            match auth.call(|token| ui_create_board(token, name.clone())).await {
                Ok(_) => {
                    new_board.set(String::new());
                    load_boards();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete_board = move |id: BoardId| {
        if !confirmed("Delete this board? Its images stay in your gallery.") {
            return;
        }
        spawn_local(async move {
            if let Err(e) = auth.call(|token| ui_delete_board(token, id)).await {
                error.set(Some(e));
            }
            if board_filter.get_untracked() == id.to_string() {
                board_filter.set(String::new());
            }
            load_boards();
            load(false);
        });
    };

    view! {
        <div class="gallery-layout">
            <aside class="panel boards-panel">
                <h2>"Boards"</h2>
                <ul class="plain-list" data-testid="board-list">
                    {move || boards.get().into_iter().map(|b| view! {
                        <BoardRow board=b error=error changed=load_boards delete=delete_board/>
                    }).collect_view()}
                </ul>
                <form on:submit=create_board class="inline-form">
                    <input type="text" maxlength="100" required placeholder="New board" aria-label="New board name"
                        data-testid="new-board-name" bind:value=new_board/>
                    <button type="submit" class="button small" data-testid="create-board">"Add"</button>
                </form>
                <h2>"Upload an image"</h2>
                <p class="muted">"PNG, JPEG or WebP, up to 20 MB; it goes to the board shown."</p>
                <form on:submit=upload class="stacked-form" data-testid="upload-form">
                    <input type="file" accept="image/png,image/jpeg,image/webp" aria-label="Image file"
                        data-testid="upload-file" node_ref=file_input/>
                    <button type="submit" class="button small" data-testid="upload" disabled=move || uploading.get()>
                        "Upload"
                    </button>
                </form>
            </aside>
            <section class="gallery-main">
                <div class="gallery-filters">
                    <label>"Board "
                        <select data-testid="board-filter" prop:value=move || board_filter.get()
                            on:change=move |ev| { board_filter.set(event_target_value(&ev)); load(false); }>
                            <option value="">"All images"</option>
                            {move || board_options(boards.get(), &board_filter.get_untracked())}
                        </select>
                    </label>
                    <label class="inline-check">
                        <input type="checkbox" data-testid="starred-filter" prop:checked=move || starred_only.get()
                            on:change=move |ev| { starred_only.set(event_target_checked(&ev)); load(false); }/>
                        " Starred only"
                    </label>
                    <span class="muted" data-testid="image-count">{move || total.get().map(|t| if t == 1 { "1 image".to_owned() } else { format!("{t} images") })}</span>
                </div>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                {move || match (total.get(), items.get().is_empty()) {
                    (None, _) => view! { <p class="loading">"Loading…"</p> }.into_any(),
                    (Some(_), true) => view! {
                        <p class="muted" data-testid="gallery-empty">"No images here yet. " <a href="/generate">"Generate one"</a></p>
                    }.into_any(),
                    _ => view! {
                        <div class="gallery-grid" data-testid="gallery-grid">
                            {items.get().into_iter().map(|image| view! {
                                <ImageCard image=image boards=boards edit=edit delete=delete/>
                            }).collect_view()}
                        </div>
                    }.into_any(),
                }}
                {move || (total.get().unwrap_or(0) > i64::try_from(items.get().len()).unwrap_or(0)).then(|| view! {
                    <button type="button" class="button" data-testid="load-more" on:click=move |_| load(true)>"Load more"</button>
                })}
            </section>
        </div>
    }
}

/// One `<option>` per board, the one with id `selected` marked so: a select whose options are
/// replaced (a board added or renamed) keeps showing its choice instead of falling back to the first.
fn board_options(boards: Vec<Board>, selected: &str) -> impl IntoView + use<> {
    boards
        .into_iter()
        .map(|b| {
            let value = b.board_id.to_string();
            let chosen = value == selected;
            view! { <option value=value selected=chosen>{b.name}</option> }
        })
        .collect_view()
}

#[component]
fn ImageCard(
    image: ImageInfo,
    boards: RwSignal<Vec<Board>>,
    edit: impl Fn(ImageId, UpdateImage) + Copy + Send + Sync + 'static,
    delete: impl Fn(ImageId) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = image.image_id;
    let starred = image.starred;
    let prompt = image.params.as_ref().map(|p| p.prompt.clone()).unwrap_or_else(|| "Uploaded image".into());
    let current_board = image.board_id.map(|b| b.to_string()).unwrap_or_default();
    let chosen_board = current_board.clone();
    let (alt, title) = (prompt.clone(), prompt.clone());
    view! {
        <figure class="image-card" data-testid="image-card" data-image-id=id.to_string() data-starred=starred.to_string()>
            <a href=format!("/gallery/{id}") data-testid="image-link">
                <img src=image.thumbnail_url alt=alt loading="lazy"/>
            </a>
            <figcaption>
                <span class="caption" title=title>{prompt}</span>
                <span class="card-actions">
                    <button type="button" class="button small" data-testid="star"
                        aria-pressed=starred.to_string()
                        on:click=move |_| edit(id, UpdateImage { starred: Some(!starred), board_id: None })>
                        {if starred { "★ Starred" } else { "☆ Star" }}
                    </button>
                    <a class="button small" href=image.file_url download=format!("pingvas-{id}.png") data-testid="download">"Download"</a>
                    <select class="small" aria-label="Move to board" data-testid="move-to-board" prop:value=chosen_board
                        on:change=move |ev| {
                            let board = event_target_value(&ev).parse::<BoardId>().ok();
                            edit(id, UpdateImage { starred: None, board_id: Some(board) });
                        }>
                        <option value="">"No board"</option>
                        {move || board_options(boards.get(), &current_board)}
                    </select>
                    <button type="button" class="button small danger" data-testid="delete" on:click=move |_| delete(id)>"Delete"</button>
                </span>
            </figcaption>
        </figure>
    }
}
