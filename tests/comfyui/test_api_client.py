"""Server tier: an API twin driven by a title-based client (comfy-api-simplified), as users script
ComfyUI: set widgets by node title, queue, wait on the websocket, fetch the Save Video output.
The twins carry the node titles (`_meta.title`) that the frontend's Export (API) writes."""
import io

from server_prompts import api_twin, tiny


def test_title_based_client_sets_params_queues_and_gets_the_saved_video(server):
    import av
    from comfy_api_simplified import ComfyApiWrapper, ComfyWorkflowWrapper

    workflow = ComfyWorkflowWrapper(tiny(api_twin("svd_longer_video_positions_chunked_decode")))
    assert {"Video settings", "YaRN positions", "Sampler", "Chunked decode", "Save Video"} <= set(workflow.list_nodes())
    workflow.set_node_param("Video settings", "video_frames", 9)
    workflow.set_node_param("Sampler", "seed", 7)
    assert workflow.get_node_param("Sampler", "seed") == 7

    files = ComfyApiWrapper(server.url).queue_and_wait_images(workflow, "Save Video")

    (name, data), = files.items()
    assert name.endswith(".mp4")
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 9
