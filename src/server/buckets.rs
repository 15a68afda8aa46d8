//! Buckets: ListBuckets, CreateBucket, HeadBucket, DeleteBucket (refused while not empty) and
//! GetBucketLocation.

use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::store::{self, Store, read, write};

impl Store {
    pub(crate) async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let prefix = req.input.prefix.unwrap_or_default();
        let buckets = read(&self.buckets)
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(name, b)| Bucket {
                name: Some(name.clone()),
                creation_date: Some(b.created.into()),
                bucket_region: None,
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(owner()),
            ..Default::default()
        }))
    }

    pub(crate) async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let name = req.input.bucket;
        if !s3s::path::check_bucket_name(&name) {
            return Err(s3_error!(
                InvalidBucketName,
                "The specified bucket is not valid."
            ));
        }
        let mut buckets = write(&self.buckets);
        if buckets.contains_key(&name) {
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        buckets.insert(name.clone(), Arc::new(store::Bucket::new()));
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{name}")),
        }))
    }

    pub(crate) async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.bucket(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    pub(crate) async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let mut buckets = write(&self.buckets);
        let b = buckets
            .get(&req.input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))?;
        if !read(&b.objects).is_empty() {
            return Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            ));
        }
        let gone = buckets.remove(&req.input.bucket);
        drop(buckets);
        drop(gone);
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    pub(crate) async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.bucket(&req.input.bucket)?;
        // us-east-1 is the empty location constraint.
        let region = (self.region != "us-east-1")
            .then(|| BucketLocationConstraint::from(self.region.clone()));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: region,
        }))
    }
}

/// The owner shown in listings (one account per server).
pub(crate) fn owner() -> Owner {
    Owner {
        display_name: Some("s3ferry".into()),
        id: Some("s3ferry-local".into()),
    }
}
