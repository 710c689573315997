"""``Client``: the official ``fastlabel.Client`` method names and arguments over :class:`Transport`.

The wire methods are generated from the tables of :mod:`fastlabel_formats_api.endpoints` (one row
per method, the task kinds from one table); this module adds the multi-step flows (DICOM upload
through a signed URL, dataset download) and the exports and imports, which call the core. Unknown
keyword arguments raise ``TypeError`` (the official client ignores them silently), and the caller's
annotation dicts are never edited.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import fastlabel_formats as core
from fastlabel_formats.files import output_path, write_atomic

from . import lerobot, sync
from .const import DICOM, DatasetObjectType
from .endpoints import DICOM_CREATE, FLOW_ROWS, SIGNED_URLS, TASK_KINDS
from .exceptions import FastLabelException, FastLabelInvalidException
from .methods import install
from .transport import Transport
from .wire import (
    USER_KEYS,
    annotations_payload,
    bind,
    check_media,
    parse_signature,
    request_parts,
)

__all__ = ["Client", "TASK_KINDS", "USER_KEYS", "annotations_payload"]

_SIGNATURES = {row.name: parse_signature(row.signature, row.users) for row in FLOW_ROWS}
TAGS_PER_CALL = 5000  # task ids per tags/add or tags/remove call, as officially
MODULE_PATHS = {"annotation": "annotation", "dataset": "dataset", "modelDev": "model-dev"}


def _modules(modules: str | Sequence[str]) -> list[str]:
    """The module names of a permission call (one name or several), each checked."""
    modules = [modules] if isinstance(modules, str) else list(modules)
    for module in modules:
        if module not in MODULE_PATHS:
            raise FastLabelInvalidException("module must be one of 'annotation', 'modelDev', 'dataset'.", 422)
    return modules


class Client:
    """A drop-in for ``fastlabel.Client``: every method of the official README, same arguments."""

    def __init__(self, access_token: str | None = None, *, transport: Transport | None = None, **options) -> None:
        self.api = transport or Transport(access_token, **options)

    def __repr__(self) -> str:
        return f"Client({self.api!r})"

    def close(self) -> None:
        """Close the HTTP connections (also on leaving a ``with Client() as client:`` block)."""
        self.api.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # multi-step flows

    def create_dicom_task(self, *args, **kwargs) -> object:
        """Upload a DICOM zip (≤ 2000 MiB) through a signed URL and create a task from it (flow F2)."""
        values = bind(_SIGNATURES["create_dicom_task"], "create_dicom_task", (self, *args), kwargs)
        check_media(values["file_path"], DICOM)
        file_name = os.path.basename(values["file_path"])
        signed = self.api.request("GET", "files", params={"project": values["project"], "fileName": file_name,
                                                         "fileType": "application/zip"})
        self.api.upload(signed["url"], values["file_path"])
        values["file_key"] = signed["name"]
        path, _, body = request_parts(DICOM_CREATE, values)
        return self.api.request("POST", path, payload=body)

    def _signed_zip_import(self, endpoint: str, project: str, file_path: str) -> list:
        """A zip uploaded through a signed URL, then imported from its key (flows of the robotics
        contents and appendix imports)."""
        if not str(file_path).lower().endswith(".zip"):
            raise FastLabelInvalidException("Supported extensions are zip.", 422)
        signed = self.api.request("GET", "files", params={"project": project, "fileName": os.path.basename(file_path),
                                                         "fileType": "application/zip"})
        self.api.upload(signed["url"], file_path)
        return self.api.request("POST", endpoint, payload={"project": project, "fileKey": signed["name"]})

    def import_robotics_contents_file(self, project: str, file_path: str) -> list:
        """Import a zip of robotics contents (uploaded through a signed URL)."""
        return self._signed_zip_import("contents/imports/robotics-contents/batch", project, file_path)

    def import_lerobot(self, project: str, lerobot_data_path: str, episode_indices: list[int] | None = None,
                       converter: Callable[[dict], lerobot.LeRobotConverter] = lerobot.LeRobotConverter) -> list[dict]:
        """Import a LeRobot v3 dataset into a robotics project: per episode (``episode_indices``,
        else the converter's ``select_episodes``) a robotics task and a zip of its telemetry JSON and
        camera videos (see :mod:`fastlabel_formats_api.lerobot`; ``converter``: a
        :class:`~fastlabel_formats_api.lerobot.LeRobotConverter` subclass, made from
        ``meta/info.json``). Per episode ``{"episode_index", "episode", "success", "result"}``; an
        episode that fails with a FastLabelException is recorded and the others go on."""
        root = Path(lerobot_data_path)
        chosen = converter(lerobot.load_info(root))
        episodes = lerobot.episode_map(root)
        if episode_indices is None:
            episode_indices = chosen.select_episodes({index: e["length"] for index, e in episodes.items()})
        return [self._import_episode(project, root, index, episodes, chosen) for index in episode_indices]

    def _import_episode(self, project: str, root: Path, index: int, episodes: dict,
                        chosen: lerobot.LeRobotConverter) -> dict:
        """One episode: its zip built first (a failure leaves no task behind), then task and import."""
        name = None
        try:
            name = chosen.build_episode_name(index)
            if index not in episodes:
                raise FastLabelInvalidException(f"Episode index {index} not found in dataset.", 422)
            frames = lerobot.episode_frames(root, index, episodes[index])
            arguments = chosen.build_task_kwargs(episode_index=index, episode_name=name, frames=frames) or {}
            with tempfile.TemporaryDirectory() as folder:
                archive = lerobot.episode_zip(root, episodes[index], name, chosen, frames, Path(folder))
                self.create_robotics_task(project=project, name=name, **arguments)
                result = self.import_robotics_contents_file(project=project, file_path=archive)
            return {"episode_index": index, "episode": name, "success": True, "result": result}
        except FastLabelException as error:
            return {"episode_index": index, "episode": name, "success": False, "result": {"error": str(error)}}

    def import_appendix_file(self, project: str, file_path: str) -> list:
        """Import a zip of appendix data (uploaded through a signed URL)."""
        return self._signed_zip_import("contents/imports/appendix/batch", project, file_path)

    def _task_tags(self, endpoint: str, project: str, task_ids: Sequence[str], tags: Sequence[str]) -> int:
        unique = list(dict.fromkeys(task_ids))
        if not unique:
            raise FastLabelInvalidException("Task ids must not be empty.", 422)
        if not tags:
            raise FastLabelInvalidException("Tags must not be empty.", 422)
        chunks = [unique[i:i + TAGS_PER_CALL] for i in range(0, len(unique), TAGS_PER_CALL)]
        return sum(self.api.request("POST", endpoint, payload={"project": project, "taskIds": chunk,
                                                               "tags": list(tags)})["updatedTaskCount"]
                   for chunk in chunks)

    def add_task_tags(self, project: str, task_ids: Sequence[str], tags: Sequence[str]) -> int:
        """Add tags to tasks (5,000 per call); how many tasks changed."""
        return self._task_tags("tasks/tags/add", project, task_ids, tags)

    def remove_task_tags(self, project: str, task_ids: Sequence[str], tags: Sequence[str]) -> int:
        """Remove tags from tasks (5,000 per call); how many tasks changed."""
        return self._task_tags("tasks/tags/remove", project, task_ids, tags)

    def create_task_comment(self, task_id: str | None = None, points: list | None = None, text: str | None = None,
                            content_name: str | None = None, content_id: str | None = None, type: str = "text",
                            scale: float = 0, frame: int = 0, status: str | None = None, priority: int | None = None,
                            is_resolved: bool = False, task_annotation_id: str | None = None,
                            color: str | None = None, comment_id: str | None = None) -> dict:
        """A comment on a task, or with ``comment_id`` a reply in that comment's thread."""
        if content_name is not None and content_id is not None:
            raise FastLabelInvalidException("Specify either content_name or content_id, not both.", 422)
        if comment_id is not None:
            return self.api.request("POST", f"comments/{comment_id}/threads", payload={"text": text})
        payload = {"taskId": task_id, "points": points, "text": text, "type": type, "isResolved": is_resolved,
                   "scale": scale, "frame": frame}
        optional = {"contentName": content_name, "contentId": content_id, "status": status, "priority": priority,
                    "taskAnnotationId": task_annotation_id, "color": color}
        payload.update({key: value for key, value in optional.items() if value is not None})
        return self.api.request("POST", "comments", payload=payload)

    def create_workspace_user_module_permissions(self, email: str, modules: str | Sequence[str]) -> list:
        """Give a workspace user access to modules (``annotation``, ``dataset``, ``modelDev``)."""
        return [self.api.request("POST", f"function-resource-permissions/{MODULE_PATHS[module]}/internal-users",
                                 payload={"email": email}) for module in _modules(modules)]

    def delete_workspace_user_module_permissions(self, email: str, modules: str | Sequence[str]) -> None:
        """Take modules (``annotation``, ``dataset``, ``modelDev``) away from a workspace user."""
        for module in _modules(modules):
            self.api.request("DELETE", "function-resource-permissions", payload={"email": email, "resource": module})

    def mask_to_fastlabel_segmentation_points(self, mask_image: str | os.PathLike[str] | object) -> list:
        """FastLabel segmentation points of a mask (an array or an image file): the core's
        :func:`~fastlabel_formats.mask_to_segmentation`, whose rings re-render to the same pixels."""
        import numpy as np

        if isinstance(mask_image, (str, os.PathLike)):
            from PIL import Image

            with Image.open(mask_image) as image:
                mask_image = np.asarray(image.convert("L"))
        return core.mask_to_segmentation(np.asarray(mask_image) > 0)

    def download_dataset_objects(self, *args, **kwargs) -> list[dict]:
        """Download a dataset's objects and their ``annotations.json`` (flow F5); object names that
        would leave ``path`` are refused before anything is fetched."""
        values = bind(_SIGNATURES["download_dataset_objects"], "download_dataset_objects", (self, *args), kwargs)
        path, query, _ = request_parts(SIGNED_URLS, values)
        items = self.api.request("GET", path, params=query)
        root = Path(values["path"])
        kinds = [DatasetObjectType(kind).value for kind in values["types"] or []]
        groups = [(root / kind, [item for item in items if item["type"] == kind]) for kind in kinds] or [(root, items)]
        targets = _object_targets(groups)  # every name checked before the first download
        indexes = {base: _listed_objects(base / INDEX_FILE) for base, _ in groups}
        root.mkdir(exist_ok=True)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda pair: self.api.download(pair[0]["signedUrl"], pair[1]), targets))
        for base, group in groups:
            _append_annotations(base / INDEX_FILE, indexes[base], group)
        return [item for item, _ in targets]

    # exports (the core does the work)

    def _project_type(self, project: str) -> str:
        found = self.find_project_by_slug(project)
        if found is None:
            raise FastLabelInvalidException("Project not found. Check the project slag.", 422)
        return found["type"]

    def _export(self, export, project: str, tasks: list, output_dir: str, **options) -> core.ConversionReport:
        project_type = self._project_type(project)
        if not project_type.startswith("video_"):
            return export(tasks, output_dir, project_type=project_type, **options)
        with tempfile.TemporaryDirectory(prefix="fastlabel-videos-") as folder:
            videos = {}
            for number, task in enumerate(tasks):
                videos[task["name"]] = self.api.download(task["url"], Path(folder) / f"{number}.mp4")
            return export(tasks, output_dir, project_type=project_type, videos=videos, **options)

    # one command each way between a project and a dataset (fastlabel_formats_api.sync)
    pull = sync.pull
    push = sync.push

    def export_coco(self, project: str, tasks: list, annotations: Sequence[dict] = (),
                    output_dir: str = os.path.join("output", "coco"),
                    output_file_name: str = "annotations.json") -> core.ConversionReport:
        """COCO ``annotations.json`` of the tasks (video projects: their videos are fetched to decode frames)."""
        if not output_file_name.lower().endswith(".json"):
            raise FastLabelInvalidException("Output file name must have a json extension", 422)
        return self._export(core.export_coco, project, tasks, output_dir, annotations=list(annotations) or None,
                            output_file_name=output_file_name)

    def export_yolo(self, project: str, tasks: list, classes: Sequence[str] = (),
                    output_dir: str = os.path.join("output", "yolo")) -> core.ConversionReport:
        """YOLO label files and ``classes.txt`` of the tasks."""
        return self._export(core.export_yolo, project, tasks, output_dir, classes=list(classes) or None)

    def export_pascalvoc(self, project: str, tasks: list,
                         output_dir: str = os.path.join("output", "pascalvoc")) -> core.ConversionReport:
        """Pascal VOC XML files of the tasks."""
        return self._export(core.export_pascalvoc, project, tasks, output_dir)

    def export_labelme(self, tasks: list, output_dir: str = os.path.join("output", "labelme")) -> core.ConversionReport:
        """labelme JSON files of the tasks (no API call)."""
        return core.export_labelme(tasks, output_dir)

    def export_instance_segmentation(self, tasks: list,
                                     output_dir: str = os.path.join("output", "instance_segmentation"),
                                     pallete: Sequence[int] = core.COLOR_PALETTE,
                                     start_index: int = 1) -> core.ConversionReport:
        """Index-colour instance PNGs (no API call)."""
        return core.export_instance_segmentation(tasks, output_dir, palette=pallete, start_index=start_index)

    def export_semantic_segmentation(self, tasks: list,
                                     output_dir: str = os.path.join("output", "semantic_segmentation"),
                                     pallete: Sequence[int] = core.COLOR_PALETTE, classes: Sequence[str] = (),
                                     start_index: int = 1) -> core.ConversionReport:
        """Index-colour semantic PNGs (no API call)."""
        return core.export_semantic_segmentation(tasks, output_dir, palette=pallete, classes=list(classes) or None,
                                                 start_index=start_index)

    def export_image_with_annotations(self, tasks: list, image_dir: str,
                                      output_dir: str = os.path.join("output", "images_with_annotations")
                                      ) -> core.ConversionReport:
        """Copies of the task images with their annotations drawn (no API call)."""
        return core.export_image_with_annotations(tasks, image_dir, output_dir)

    # imports (no API call)

    def convert_coco_to_fastlabel(self, file_path: str, annotation_type: str | None) -> dict:
        """``{file_name: [annotations]}`` of a COCO file; ``annotation_type=None`` picks per annotation."""
        return core.coco_to_fastlabel(file_path, annotation_type)

    def convert_labelme_to_fastlabel(self, folder_path: str) -> dict:
        """``{image path: [annotations]}`` of a labelme folder."""
        return core.labelme_to_fastlabel(folder_path)

    def convert_pascalvoc_to_fastlabel(self, folder_path: str) -> dict:
        """``{image path: [annotations]}`` of a Pascal VOC folder."""
        return core.pascalvoc_to_fastlabel(folder_path)

    def convert_yolo_to_fastlabel(self, classes_file_path: str, dataset_folder_path: str,
                                  project_type: str = "bbox") -> dict:
        """``{image path: [annotations]}`` of a YOLO dataset: ``segmentation``, ``obb`` or (anything else) bbox."""
        reader = project_type if project_type in ("segmentation", "obb") else "bbox"
        return core.yolo_to_fastlabel(classes_file_path, dataset_folder_path, project_type=reader)


INDEX_FILE = "annotations.json"  # beside the downloaded objects: their annotations
# names Windows cannot create (any extension), refused everywhere so that a download is portable
RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)),
                            *(f"lpt{n}" for n in range(1, 10))})


def _object_targets(groups: list[tuple[Path, list[dict]]]) -> list[tuple[dict, Path]]:
    """``(object, file)`` of every object, or FastLabelInvalidException naming the first name that
    cannot be a file of its own inside its folder (checked before anything is fetched)."""
    targets, seen = [], {}
    for base, group in groups:
        for item in group:
            path = _object_path(base, item.get("name"))
            if path in seen:
                raise FastLabelInvalidException(f"dataset objects {seen[path]!r} and {item['name']!r} "
                                                f"would both be written to {path}", 422)
            seen[path] = item["name"]
            targets.append((item, path))
    return targets


def _object_path(base: Path, name: object) -> Path:
    """Where an object named ``name`` is written under ``base``."""
    problem = _name_problem(name)
    if problem:
        raise FastLabelInvalidException(f"dataset object {name!r:.200}: {problem}; refusing to download", 422)
    try:
        return output_path(base, name, "dataset object")
    except core.FormatError as error:
        raise FastLabelInvalidException(str(error), 422) from None


def _name_problem(name: object) -> str | None:
    """Why ``name`` cannot be an object's file name (None when it can)."""
    if not isinstance(name, str) or not name.strip("/"):
        return "the name is empty or not text"
    if any(ord(character) < 32 for character in name):
        return "the name holds a control character"
    parts = name.replace("\\", "/").split("/")
    if any(part in (".", "..") for part in parts):
        return "the name has a '.' or '..' part"
    if any(part.split(".")[0].strip().lower() in RESERVED_NAMES for part in parts):
        return "the name is reserved on Windows"
    if name == INDEX_FILE:
        return f"the name is that of the index file {INDEX_FILE}"
    return None


def _listed_objects(path: Path) -> list:
    """The entries an existing index file lists (none when there is none)."""
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FastLabelInvalidException(f"{path}: cannot read the existing index ({error}); move it away", 422) \
            from None
    if not isinstance(entries, list):
        raise FastLabelInvalidException(f"{path}: the existing index is not a list; move it away", 422)
    return entries


def _append_annotations(path: Path, entries: list, items: list[dict]) -> None:
    """The index file: the items' annotations appended to the ``entries`` it already listed."""
    entries = entries + [{"name": item["name"], "annotations": item["annotations"],
                          "customMetadata": item["customMetadata"], "tags": item["tags"], "object_type": item["type"]}
                         for item in items]
    write_atomic(path, json.dumps(entries, indent=4, ensure_ascii=False).encode("utf-8"))


install(Client)
