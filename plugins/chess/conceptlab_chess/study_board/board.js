// The chess study's client-side board: cm-chessboard (vendored, MIT) with drag-and-drop or
// click-click move input, dots on the destinations of the picked piece, the last move and the
// chosen move marked, and cm-chessboard's promotion dialog. It only chooses among the legal
// moves the study sent (UCI text); the page submits the chosen one.
import {Chessboard, COLOR, INPUT_EVENT_TYPE} from "./cm-chessboard/src/Chessboard.js"
import {Markers, MARKER_TYPE} from "./cm-chessboard/src/extensions/markers/Markers.js"
import {PromotionDialog, PROMOTION_DIALOG_RESULT_TYPE} from "./cm-chessboard/src/extensions/promotion-dialog/PromotionDialog.js"

const BASE = new URL(".", import.meta.url).href
const STYLES = [
    "cm-chessboard/assets/chessboard.css",
    "cm-chessboard/assets/extensions/markers/markers.css",
    "cm-chessboard/assets/extensions/promotion-dialog/promotion-dialog.css",
    "study-board.css",
]

function addStyles() {
    for (const path of STYLES) {
        const href = BASE + path
        if (!document.querySelector(`link[href="${href}"]`)) {
            const link = document.createElement("link")
            link.rel = "stylesheet"
            link.href = href
            document.head.appendChild(link)
        }
    }
}

// mount(element, board, moves, choose): draw board = {fen, orientation: "w"|"b", last_move, turn}
// in element, let the player choose among moves = [{text, name}] (UCI texts); choose(text) tells the
// page. Returns {show(text): mark a move chosen elsewhere (null: none), destroy()}.
export function mount(element, board, moves, choose) {
    addStyles()
    element.replaceChildren()
    const holder = document.createElement("div")
    holder.className = "study-board"
    element.appendChild(holder)
    const texts = moves.map((m) => m.text)
    const chessboard = new Chessboard(holder, {
        position: board.fen,
        orientation: board.orientation === "b" ? COLOR.black : COLOR.white,
        assetsUrl: BASE + "cm-chessboard/assets/",
        style: {pieces: {file: BASE + "pieces.svg"}, animationDuration: 150},
        extensions: [
            {class: Markers, props: {sprite: BASE + "markers.svg", autoMarkers: null}},
            {class: PromotionDialog},
        ],
    })
    const LAST = {class: "marker-last-move", slice: "markerSquare"}
    const CHOSEN = {class: "marker-chosen", slice: "markerFrame"}
    if (board.last_move) {
        chessboard.addMarker(LAST, board.last_move.slice(0, 2))
        chessboard.addMarker(LAST, board.last_move.slice(2, 4))
    }
    const show = (text) => {
        chessboard.removeMarkers(CHOSEN)
        if (text) {
            chessboard.addMarker(CHOSEN, text.slice(0, 2))
            chessboard.addMarker(CHOSEN, text.slice(2, 4))
        }
    }
    const pick = (text) => {
        show(text)
        choose(text)
    }
    chessboard.enableMoveInput((event) => {
        switch (event.type) {
            case INPUT_EVENT_TYPE.moveInputStarted: {
                const targets = texts.filter((t) => t.startsWith(event.squareFrom)).map((t) => t.slice(2, 4))
                chessboard.removeMarkers(MARKER_TYPE.dot)
                for (const square of new Set(targets)) chessboard.addMarker(MARKER_TYPE.dot, square)
                return targets.length > 0
            }
            case INPUT_EVENT_TYPE.validateMoveInput: {
                const prefix = event.squareFrom + event.squareTo
                const matching = texts.filter((t) => t.startsWith(prefix))
                chessboard.removeMarkers(MARKER_TYPE.dot)
                if (matching.length === 1) {
                    pick(matching[0])
                } else if (matching.length > 1) {  // a promotion: ask for the piece
                    const colour = board.turn === "b" ? COLOR.black : COLOR.white
                    chessboard.showPromotionDialog(event.squareTo, colour, (result) => {
                        if (result && result.type === PROMOTION_DIALOG_RESULT_TYPE.pieceSelected) {
                            const text = prefix + result.piece.charAt(1)
                            if (texts.includes(text)) pick(text)
                        }
                    })
                }
                return false  // the board keeps the puzzle's position; the choice is marked instead
            }
            case INPUT_EVENT_TYPE.moveInputCanceled:
                chessboard.removeMarkers(MARKER_TYPE.dot)
                break
        }
    }, board.turn === "b" ? COLOR.black : COLOR.white)
    return {show, destroy: () => chessboard.destroy()}
}
