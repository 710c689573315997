"""Every wire method of the FastLabel API that the official client calls, as a table row.

Task kinds are one table (:data:`TASK_KINDS`): each row gives the ``find`` / ``get`` / ``create`` /
``update`` endpoints and the ``find_*_by_name`` / ``iter_*`` helpers of one kind. The other
resources (annotation classes, projects, tags, datasets, dataset objects, histories, models) are
rows of :data:`ENDPOINTS`. Multi-step flows (DICOM upload, dataset download) and the exports live
in :mod:`fastlabel_formats_api.client`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .const import (
    AUDIO,
    DATASET_OBJECT,
    IMAGE,
    INFERENCE_IMAGE,
    PCD,
    SEQUENTIAL_PCD,
    TEXT,
    VIDEO,
    Media,
)
from .wire import (
    ATTR,
    META,
    PAGE,
    PRI,
    STD,
    TAGS,
    Endpoint,
    Key,
    always,
    annotations_with,
    as_list,
    constant,
    file_base64,
    flag,
    folder_contents,
    given,
    known_object_types,
    limit_at_most,
    media_check,
    not_none,
    object_types,
    one_of_version_or_revision,
    parse_signature,
    project_required,
    truthy,
)

MEDIA_CREATE = ("project, name, file_path, status=None, external_status=None, priority=None, annotations=[], "
                "tags=[], metadatas=[]")
MEDIA_UPDATE = "task_id, status=None, external_status=None, priority=None, tags=[], annotations=[], metadatas=[]"
CLASSIFICATION_CREATE = ("project, name, file_path, status=None, external_status=None, priority=None, "
                         "attributes=[], tags=[]")
CLASSIFICATION_UPDATE = "task_id, status=None, external_status=None, priority=None, attributes=[], tags=[]"
LIST = "project, status=None, external_status=None, tags={tags}, task_name=None, offset=None, limit={limit}"


@dataclass(frozen=True)
class TaskKind:
    """One task kind: wire path, list page sizes, create/update signatures and upload rules.

    ``create_content`` names the argument copied into each annotation's ``content`` on create
    (``None``: left alone); ``update_content`` is the value set on update (``None``: left alone).
    """

    name: str
    path: str
    limit: int
    max_limit: int | None
    create: str | None
    update: str | None
    media: Media | None
    max_files: int | None = None
    create_content: str | None = "name"
    update_content: str | None = ""
    list_tags_default: str = "[]"
    list_signature: str | None = None  # when the list call differs from LIST (robotics)
    page_always: bool = False  # offset and limit always sent (robotics) instead of when truthy
    annotations_when: str = "truthy"  # robotics: annotations sent whenever not None


TASK_KINDS = (
    TaskKind("image", "tasks/image", 100, 1000,
             "project, name, file_path, status=None, external_status=None, custom_task_status='', priority=None, "
             "annotations=[], tags=[], metadatas=[], is_delete_exif=False",
             "task_id, status=None, external_status=None, custom_task_status='', priority=None, tags=[], "
             "annotations=[], relations=None, metadatas=[]", IMAGE),
    TaskKind("image_classification", "tasks/image/classification", 100, None,
             CLASSIFICATION_CREATE + ", is_delete_exif=False", CLASSIFICATION_UPDATE, IMAGE),
    TaskKind("multi_image_classification", "tasks/multi-image/classification", 100, None,
             CLASSIFICATION_CREATE.replace("file_path", "folder_path") + ", is_delete_exif=False",
             CLASSIFICATION_UPDATE, IMAGE, max_files=6),
    TaskKind("sequential_image", "tasks/sequential-image", 10, 10,
             MEDIA_CREATE.replace("file_path", "folder_path") + ", is_delete_exif=False", MEDIA_UPDATE, IMAGE,
             max_files=250, create_content=None, update_content=None),
    TaskKind("video", "tasks/video", 10, 10, MEDIA_CREATE, MEDIA_UPDATE, VIDEO),
    TaskKind("video_classification", "tasks/video/classification", 100, None, CLASSIFICATION_CREATE,
             CLASSIFICATION_UPDATE, VIDEO),
    TaskKind("text", "tasks/text", 100, 1000, MEDIA_CREATE, MEDIA_UPDATE, TEXT),
    TaskKind("text_classification", "tasks/text/classification", 100, None, CLASSIFICATION_CREATE,
             CLASSIFICATION_UPDATE, TEXT),
    TaskKind("audio", "tasks/audio", 100, 1000, MEDIA_CREATE, MEDIA_UPDATE, AUDIO),
    TaskKind("audio_classification", "tasks/audio/classification", 100, None, CLASSIFICATION_CREATE,
             CLASSIFICATION_UPDATE, AUDIO),
    TaskKind("pcd", "tasks/pcd", 100, 1000, MEDIA_CREATE, MEDIA_UPDATE, PCD),
    TaskKind("sequential_pcd", "tasks/sequential-pcd", 10, 10,
             MEDIA_CREATE.replace("file_path", "folder_path"), MEDIA_UPDATE, SEQUENTIAL_PCD, max_files=250,
             create_content=None, list_tags_default="None"),
    TaskKind("dicom", "tasks/dicom", 100, 1000, None,
             "task_id, status=None, external_status=None, tags=[], metadatas=[]", IMAGE),
    TaskKind("robotics", "tasks/robotics", 100, 100,
             "project, name, status=None, external_status=None, priority=None, tags=None, operator=None, "
             "metadatas=None",
             "task_id, status=None, external_status=None, priority=None, tags=None, operator=None, "
             "annotations=None, metadatas=None", None, create_content=None, update_content=None,
             list_signature="project, status=None, external_status=None, tags=None, task_name=None, offset=0, "
                            "limit=100", page_always=True, annotations_when="not_none"),
    TaskKind("multi_modal_video_audio", "tasks/multi-modal-video-audio", 10, 10, None, None, None),
)

# how a task create/update argument goes on the wire (annotations and uploads depend on the kind)
TASK_KEYS = {
    "project": always("project"), "name": always("name"),
    "status": STD[0], "external_status": STD[1], "custom_task_status": truthy("custom_task_status"),
    "priority": PRI, "attributes": ATTR, "tags": TAGS, "metadatas": META,
    "relations": truthy("relations", encode=as_list), "is_delete_exif": flag("is_delete_exif"),
    "operator": not_none("operator"),
}


def task_keys_for(names: str) -> tuple[Key, ...]:
    """The wire keys of the named task arguments (``"status, tags"``)."""
    return tuple(TASK_KEYS[name.strip()] for name in names.split(","))


def _task_keys(kind: TaskKind, signature: str, content: dict) -> tuple[Key, ...]:
    rule = not_none if kind.annotations_when == "not_none" else truthy
    special = {"file_path": always("file_path", "file", file_base64),
               "annotations": rule("annotations", encode=annotations_with(**content))}
    if kind.max_files:
        special["folder_path"] = always("folder_path", "contents", folder_contents(kind.media, kind.max_files))
    names = list(parse_signature(signature).parameters)[1:]
    return tuple({**TASK_KEYS, **special}[name] for name in names if name != "task_id")


def kind_endpoints(kind: TaskKind) -> tuple[Endpoint, ...]:
    """find / get / update (and create, unless handwritten) of one task kind."""
    label = kind.name.replace("_", " ")
    page = (always("offset"), always("limit")) if kind.page_always else PAGE
    rows = [
        Endpoint(f"find_{kind.name}_task", "GET", kind.path + "/{task_id}", "task_id", doc=f"One {label} task."),
        Endpoint(f"get_{kind.name}_tasks", "GET", kind.path,
                 kind.list_signature or LIST.format(limit=kind.limit, tags=kind.list_tags_default),
                 (always("project"), *STD, TAGS, truthy("task_name"), *page),
                 checks=(limit_at_most(kind.max_limit),) if kind.max_limit else (),
                 doc=f"A page of {label} tasks (``iter_{kind.name}_tasks`` pages by itself)."),
    ]
    if kind.update:
        rows.append(Endpoint(f"update_{kind.name}_task", "PUT", kind.path + "/{task_id}", kind.update,
                             _task_keys(kind, kind.update, {"content": kind.update_content}), users=True,
                             doc=f"Update a {label} task."))
    if kind.create:
        upload = "folder_path" if kind.max_files else "file_path" if "file_path" in kind.create else None
        content = {"content_from": kind.create_content} if kind.create_content else {}
        checks = (media_check(upload, kind.media),) if upload == "file_path" else ()
        rows.append(Endpoint(f"create_{kind.name}_task", "POST", kind.path, kind.create,
                             _task_keys(kind, kind.create, content), checks=checks, users=True,
                             doc=f"Create a {label} task" + (f" from {upload.replace('_', ' ')}." if upload else ".")))
    return tuple(rows)


def _by_id(name: str, path: str, arg: str, verb: str = "GET") -> Endpoint:
    return Endpoint(name, verb, f"{path}/{{{arg}}}", arg)


def _prefix(media: str) -> Endpoint:
    return Endpoint(f"find_integrated_{media}_task_by_prefix", "GET", f"tasks/integrate/{media}s", "project, prefix",
                    (always("project"), always("prefix")), doc=f"The {media} task merged from split tasks.")


OBJECT_PATH = "dataset-revision-objects/datasets/{dataset_id}/objects/{object_name!q}"
OBJECT_QUERY = (always("dataset", "datasetName"), always("offset"), always("limit"), truthy("revision_id"),
                truthy("version"), TAGS, truthy("licenses", encode=as_list),
                truthy("types", encode=object_types))
OBJECT_CHECKS = (known_object_types, one_of_version_or_revision, limit_at_most(1000))
OBJECT_LIST = ("dataset, version=None, tags=None, licenses=None, revision_id=None, types=None, offset=0, "
               "limit=1000")

ENDPOINTS = (
    # 2.1 / 2.2 / 2.5 / 2.9 integrated storage and split tasks
    Endpoint("create_integrated_image_task", "POST", "tasks/integrated-image",
             "project, storage_type, file_path, status=None, external_status=None, annotations=None, tags=None, "
             "metadatas=[]",
             (always("project"), always("file_path"), always("storage_type"), *STD,
              truthy("annotations", encode=annotations_with(content_from="file_path")), TAGS, META),
             checks=(media_check("file_path", IMAGE, size=False),), users=True),
    Endpoint("create_integrated_image_classification_task", "POST", "tasks/integrated-image/classification",
             "project, file_path, storage_type, status=None, external_status=None, priority=None, attributes=None, "
             "tags=None", (always("project"), always("file_path"), always("storage_type"), *STD, PRI, ATTR, TAGS),
             users=True),
    _prefix("image"), _prefix("video"), _prefix("audio"),
    # 2.14 common task operations, S3, import histories
    Endpoint("update_task", "PUT", "tasks/{task_id}",
             "task_id, status=None, external_status=None, priority=None, tags=[], metadatas=[]",
             (*STD, PRI, TAGS, META), users=True),
    _by_id("delete_task", "tasks", "task_id", "DELETE"),
    Endpoint("delete_task_annotations", "DELETE", "tasks/{task_id}/task-annotations", "task_id"),
    Endpoint("get_task_id_name_map", "GET", "tasks/map/id-name", "project, offset=None, limit=1000",
             (always("project"), *PAGE), checks=(limit_at_most(1000),)),
    Endpoint("count_tasks", "GET", "tasks/count", "project, status=None, external_status=None, tags=None",
             (always("project"), *STD, TAGS)),
    Endpoint("update_aws_s3_storage", "PUT", "storages/aws-s3/{project}",
             "project, bucket_name, bucket_region, prefix=None",
             (always("bucket_name"), always("bucket_region"), truthy("prefix"))),
    Endpoint("create_task_from_aws_s3", "POST", "tasks/aws-s3", "project, status='registered', tags=[], priority=0",
             (always("project"), always("status"), always("tags", encode=as_list), always("priority"))),
    _by_id("get_aws_s3_import_status_by_project", "tasks/import/status/aws-s3", "project"),
    _by_id("find_history", "tasks/import/histories", "history_id"),
    Endpoint("get_histories", "GET", "tasks/import/histories", "project, offset=None, limit=100",
             (always("project"), *PAGE), checks=(limit_at_most(1000),)),
    # 2.15 annotation classes
    Endpoint("create_annotation", "POST", "annotations",
             "project, type, value, title, color=None, order=None, attributes=[], max_area_count=...",
             (always("project"), always("type"), always("value"), always("title"), truthy("color"), truthy("order"),
              truthy("attributes", encode=as_list), given("max_area_count"))),
    Endpoint("create_classification_annotation", "POST", "annotations/classification", "project, attributes",
             (always("project"), always("attributes", encode=as_list))),
    _by_id("find_annotation", "annotations", "annotation_id"),
    Endpoint("get_annotations", "GET", "annotations", "project, value=None, offset=None, limit=10",
             (always("project"), truthy("value"), *PAGE), checks=(limit_at_most(1000),)),
    Endpoint("update_annotation", "PUT", "annotations/{annotation_id}",
             "annotation_id, value=None, title=None, color=None, order=None, attributes=[], max_area_count=...",
             (truthy("value"), truthy("title"), truthy("color"), truthy("order"),
              truthy("attributes", encode=as_list), given("max_area_count"))),
    Endpoint("update_classification_annotation", "PUT", "annotations/classification/{annotation_id}",
             "annotation_id, attributes", (always("attributes", encode=as_list),)),
    _by_id("delete_annotation", "annotations", "annotation_id", "DELETE"),
    # 2.16 projects and tags
    Endpoint("create_project", "POST", "projects",
             "type, name, slug, is_pixel=False, job_size=10, workflow='two_step', external_workflow='two_step'",
             (always("type"), always("name"), always("slug"), always("workflow"), always("external_workflow"),
              flag("is_pixel"), truthy("job_size"))),
    _by_id("find_project", "projects", "project_id"),
    Endpoint("get_projects", "GET", "projects", "slug=None, offset=None, limit=100", (truthy("slug"), *PAGE),
             checks=(limit_at_most(1000),)),
    Endpoint("update_project", "PUT", "projects/{project_id}",
             "project_id, name=None, slug=None, job_size=None, workflow=None, external_workflow=None",
             (truthy("name"), truthy("slug"), truthy("job_size"), truthy("workflow"), truthy("external_workflow"))),
    _by_id("delete_project", "projects", "project_id", "DELETE"),
    Endpoint("copy_project", "POST", "projects/copy", "project_id, project_name=None, project_slug=None",
             (always("project_id", "id"), truthy("project_name", "name"), truthy("project_slug", "slug"))),
    Endpoint("get_tags", "GET", "tags", "project, keyword=None, offset=None, limit=100",
             (always("project"), truthy("keyword"), *PAGE), checks=(limit_at_most(1000),)),
    Endpoint("delete_tags", "POST", "tags/delete/multi", "tag_ids", (always("tag_ids", encode=as_list),),
             returns_none=True),
    # 2.17 datasets and dataset objects
    Endpoint("create_dataset", "POST", "datasets-v2", "name, tags=[], visibility=None",
             (always("name"), TAGS, truthy("visibility"))),
    _by_id("find_dataset", "datasets-v2", "dataset_id"),
    Endpoint("get_datasets", "GET", "datasets-v2", "keyword=None, tags=[], license=None, visibility=None",
             (truthy("keyword"), TAGS, truthy("license"), truthy("visibility"))),
    Endpoint("update_dataset", "PUT", "datasets-v2/{dataset_id}", "dataset_id, name=None, tags=None",
             (always("name"), not_none("tags", encode=as_list))),
    _by_id("delete_dataset", "datasets-v2", "dataset_id", "DELETE"),
    Endpoint("create_dataset_object", "POST", "dataset-revision-objects",
             "dataset, name, file_path, tags=None, licenses=None, annotations=None, custom_metadata=None",
             (always("dataset", "datasetName"), always("name", "objectName"), always("file_path", encode=file_base64),
              TAGS, truthy("licenses", encode=as_list), truthy("annotations", encode=as_list),
              truthy("custom_metadata")), checks=(media_check("file_path", DATASET_OBJECT, extension=False),)),
    Endpoint("find_dataset_object", "GET", OBJECT_PATH, "dataset_id, object_name, version=None, revision_id=None",
             (truthy("revision_id"), truthy("version")), checks=(one_of_version_or_revision,)),
    Endpoint("get_dataset_objects", "GET", "dataset-revision-objects", OBJECT_LIST, OBJECT_QUERY,
             checks=OBJECT_CHECKS),
    Endpoint("update_dataset_object", "PUT", "dataset-revision-objects",
             "dataset_id, object_name, tags=None, licenses=None, annotations=None, custom_metadata=None",
             (always("dataset_id"), always("object_name"), not_none("tags", encode=as_list),
              not_none("licenses", encode=as_list), not_none("annotations", encode=as_list),
              not_none("custom_metadata"))),
    Endpoint("delete_dataset_object", "DELETE", OBJECT_PATH, "dataset_id, object_name"),
    # 2.18 models
    Endpoint("get_training_jobs", "GET", "trainings", "offset=None, limit=100", PAGE, checks=(limit_at_most(1000),)),
    _by_id("find_training_job", "trainings", "id"),
    Endpoint("execute_training_job", "POST", "trainings",
             "dataset_name, base_model_name, epoch, dataset_revision_id=None, use_dataset_train_val=False, "
             "instance_type='ml.p3.2xlarge', batch_size=None, learning_rate=None, resize_option=None, "
             "resize_dimension=None, annotation_value='', config_file_path=None",
             (*(not_none(arg) for arg in ("dataset_name", "base_model_name", "epoch", "use_dataset_train_val",
                                          "instance_type", "dataset_revision_id", "batch_size", "learning_rate",
                                          "resize_option", "resize_dimension")),
              not_none("config_file_path", "configFile", file_base64), truthy("annotation_value"))),
    Endpoint("get_evaluation_jobs", "GET", "evaluations", "offset=None, limit=1000", PAGE,
             checks=(limit_at_most(1000),)),
    _by_id("find_evaluation_job", "evaluations", "id"),
    Endpoint("execute_evaluation_job", "POST", "evaluations",
             "dataset_name, model_name, iou_threshold=0.5, confidence_threshold=0.4, dataset_revision_id=None, "
             "use_dataset_test=False, instance_type='ml.p3.2xlarge', batch_size=None, learning_rate=None",
             tuple(not_none(arg) for arg in ("model_name", "dataset_name", "iou_threshold", "confidence_threshold",
                                             "dataset_revision_id", "use_dataset_test")),
             doc="Start an evaluation; like the official client, instance_type, batch_size and learning_rate "
                 "are accepted but not sent."),
    Endpoint("execute_endpoint", "POST", "model-endpoints/execute", "endpoint_name, file_path",
             (always("endpoint_name", "modelEndpointName"), always("file_path", "file", file_base64)),
             checks=(media_check("file_path", INFERENCE_IMAGE),)),
    Endpoint("create_model_monitoring_request_results", "POST", "model-monitorings/create", "name, results=[]",
             (always("name"), always("results", encode=as_list))),
    # comments on tasks, and their threads
    Endpoint("get_task_comments", "GET", "comments", "project, task_id, offset=None, limit=100",
             (always("project"), always("task_id"), not_none("offset"), not_none("limit")),
             checks=(limit_at_most(1000),)),
    Endpoint("update_task_comment", "PUT", "comments/threads/{thread_id}", "thread_id, text", (always("text"),)),
    Endpoint("delete_task_comment", "DELETE", "comments/threads/{thread_id}", "thread_id", returns_none=True),
    Endpoint("get_project_comments", "GET", "comments/threads",
             "project, status=None, external_status=None, tags=None, issue_category_id=None, offset=None, limit=100",
             (always("project"), truthy("status", "taskStatus"), truthy("external_status", "taskExternalStatus"),
              truthy("tags", "taskTags", encode=as_list), truthy("issue_category_id"), not_none("offset"),
              not_none("limit")), checks=(limit_at_most(1000),)),
    # workspace users, their module permissions, project members
    Endpoint("get_workspace_users", "GET", "workspaces-users", "keyword=None, offset=None, limit=20",
             (truthy("keyword"), not_none("offset"), not_none("limit"))),
    Endpoint("create_workspace_user", "POST", "workspaces-users/internal-users", "name, email, language, role",
             (always("name"), always("email"), always("language"), always("role"))),
    Endpoint("update_workspace_user", "PUT", "workspaces-users/internal-users", "email, role",
             (always("email"), always("role"))),
    Endpoint("delete_workspace_user", "PUT", "workspaces-users/internal-users", "email",
             (always("email"), constant("role", "none")), returns_none=True,
             doc="Remove a user from the workspace (its role set to ``none``)."),
    Endpoint("update_project_user_permission", "PUT", "projects-users", "project, email, role",
             (always("project"), always("email"), always("role"))),
    # projects' maps and metadata, task metadata, appendix data, tags of many tasks
    Endpoint("get_project_id_slug_map", "GET", "projects/map/id-slug", "offset=None, limit=1000", PAGE,
             checks=(limit_at_most(1000),)),
    Endpoint("update_project_metadata", "PUT", "projects/{project_id}/metadata",
             "project_id, external_code_1, external_code_2, external_code_3",
             (always("external_code_1"), always("external_code_2"), always("external_code_3"))),
    Endpoint("get_metadatas", "GET", "metadatas", "project=None, offset=None, limit=100",
             (not_none("project"), *PAGE), checks=(limit_at_most(1000),)),
    Endpoint("get_appendix_data", "GET", "contents/export/appendix",
             "project, status=None, external_status=None, tags=None, task_name=None, offset=None, limit=10000",
             (always("project"), *STD, TAGS, truthy("task_name"), *PAGE), checks=(limit_at_most(10000),)),
    Endpoint("get_task_appendix_data", "GET", "tasks/appendix", "project, task_name=None, offset=None, limit=10000",
             (always("project"), truthy("task_name"), *PAGE), checks=(limit_at_most(10000),)),
    # auto-annotation
    Endpoint("get_auto_annotation_jobs", "GET", "auto-annotations", "project, offset=None, limit=1000",
             (always("project"), *PAGE), checks=(project_required, limit_at_most(1000))),
    Endpoint("execute_auto_annotation_job", "POST", "auto-annotations",
             "project, model_name, algorithm_type=None, update_existing=False, confidence_threshold=0.4, "
             "use_tta=False, use_flip=False, processing_speed='low', auto_creation=True",
             (*(not_none(arg) for arg in ("project", "model_name", "algorithm_type", "update_existing",
                                          "confidence_threshold")),
              not_none("use_tta", "useTTA"), not_none("use_flip"), not_none("processing_speed"),
              not_none("auto_creation"))),
)


@dataclass(frozen=True)
class Lookup:
    """``name(args)`` = first element of ``getter(args as keywords)``, or ``None`` (the BYNAME rule)."""

    name: str
    getter: str
    signature: str


@dataclass(frozen=True)
class Pager:
    """``name(*args, **filters)`` yields every item of ``getter`` pages of ``page`` items."""

    name: str
    getter: str
    page: int


LOOKUPS = (
    *(Lookup(f"find_{kind.name}_task_by_name", f"get_{kind.name}_tasks", "project, task_name") for kind in TASK_KINDS),
    Lookup("find_annotation_by_value", "get_annotations", "project, value"),
    Lookup("find_project_by_slug", "get_projects", "slug"),
)

PAGERS = (
    *(Pager(f"iter_{kind.name}_tasks", f"get_{kind.name}_tasks", kind.max_limit or 1000) for kind in TASK_KINDS),
    Pager("iter_projects", "get_projects", 1000),
    Pager("iter_annotations", "get_annotations", 1000),
    Pager("iter_tags", "get_tags", 1000),
    Pager("iter_histories", "get_histories", 1000),
    Pager("iter_dataset_objects", "get_dataset_objects", 1000),
    Pager("iter_training_jobs", "get_training_jobs", 1000),
    Pager("iter_evaluation_jobs", "get_evaluation_jobs", 1000),
)


DICOM_CREATE = Endpoint("create_dicom_task", "POST", "tasks/dicom",
                        "project, file_path, status=None, external_status=None, tags=[], metadatas=[]",
                        (always("project"), *task_keys_for("status, external_status, tags, metadatas"),
                         always("file_key", "fileKey")), users=True)
SIGNED_URLS = Endpoint("download_dataset_objects", "GET", "dataset-revision-objects/signed-urls",
                       "dataset, path, version='', revision_id='', tags=None, licenses=None, types=None, offset=0, "
                       "limit=1000", OBJECT_QUERY, checks=OBJECT_CHECKS)
FLOW_ROWS = (DICOM_CREATE, SIGNED_URLS)  # the requests of the hand-written flows (client.py)

ALL_ENDPOINTS = (*(row for kind in TASK_KINDS for row in kind_endpoints(kind)), *ENDPOINTS)

__all__ = ["ALL_ENDPOINTS", "FLOW_ROWS", "LOOKUPS", "PAGERS", "TASK_KINDS", "TaskKind"]
