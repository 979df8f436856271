//! The generation and gallery core offered to the UI's server functions
//! (`app::api::gallery_fns`): the calls the REST routes make, answering in the UI's terms.

use app::api::{
    backend::GalleryBackend,
    error::UiError,
    generation::{GenerateRequest, Job, JobAccepted},
    images::{ImageFilter, ImageInfo, ImagePage, UpdateImage},
};
use async_trait::async_trait;
use uuid::Uuid;

use super::{
    generation_api::events_link,
    images_api::{delete_owned, page, signed_now},
    ui_backend::UiBackend,
};
use crate::{
    generation,
    ids::{ImageId, JobId},
    images, jobs,
};

#[async_trait]
impl GalleryBackend for UiBackend {
    async fn generate(&self, access_token: &str, request: GenerateRequest) -> Result<JobAccepted, UiError> {
        let user = self.user(access_token).await?;
        let state = self.state();
        let job = generation::accept(&state.tenants, &state.config.models, &user, &request)
            .await
            .map_err(UiError::from)?;
        let events_url = events_link(state, &user, job.job_id);
        Ok(JobAccepted { job, events_url })
    }

    async fn job(&self, access_token: &str, id: Uuid) -> Result<Job, UiError> {
        let user = self.user(access_token).await?;
        jobs::get(&self.state().tenants, user.user_id, JobId(id)).await.map_err(UiError::from)
    }

    async fn cancel_job(&self, access_token: &str, id: Uuid) -> Result<Job, UiError> {
        let user = self.user(access_token).await?;
        jobs::cancel(&self.state().tenants, user.user_id, JobId(id)).await.map_err(UiError::from)
    }

    async fn images(&self, access_token: &str, filter: ImageFilter) -> Result<ImagePage, UiError> {
        let user = self.user(access_token).await?;
        page(self.state(), &user, filter).await.map_err(UiError::from)
    }

    async fn image(&self, access_token: &str, id: Uuid) -> Result<ImageInfo, UiError> {
        let user = self.user(access_token).await?;
        let record =
            images::get(&self.state().tenants, user.user_id, ImageId(id)).await.map_err(UiError::from)?;
        signed_now(self.state(), &user, &record).map_err(UiError::from)
    }

    async fn update_image(
        &self,
        access_token: &str,
        id: Uuid,
        edit: UpdateImage,
    ) -> Result<ImageInfo, UiError> {
        let user = self.user(access_token).await?;
        let record =
            images::update(&self.state().tenants, user.user_id, id, &edit).await.map_err(UiError::from)?;
        signed_now(self.state(), &user, &record).map_err(UiError::from)
    }

    async fn delete_image(&self, access_token: &str, id: Uuid) -> Result<(), UiError> {
        let user = self.user(access_token).await?;
        delete_owned(self.state(), user.user_id, ImageId(id)).await.map_err(UiError::from)
    }
}
